/* key_root: the subcommands 'key root' and 'key rotate-signing' (cli/key_root.c), run by
 * cli/cmd_key.c with their help text. */
#ifndef EMBASSY_KEY_ROOT_H
#define EMBASSY_KEY_ROOT_H

int key_cmd_root(int argc, char **argv, const char *help);
int key_cmd_rotate(int argc, char **argv, const char *help);

#endif
