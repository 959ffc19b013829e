/* xdg: the per-user directories embassy keeps things in (cache, state), computed one way
 * everywhere. A mount daemon changes to / once mounted, and the disk cache and the metadata
 * mirror must agree on where "the cache" is: so every path returned here is absolute, and a
 * relative $XDG_*_HOME is ignored, as the XDG base directory specification asks. */
#ifndef EMBASSY_XDG_H
#define EMBASSY_XDG_H

/* "$<env>/embassy" when $<env> is absolute, else "$HOME/<home_sub>/embassy" when $HOME is
 * absolute, else NULL with errno ENOENT (no such place: the caller says what to give
 * instead). E.g. xdg_dir("XDG_CACHE_HOME", ".cache"). Caller frees. */
char *xdg_dir(const char *env, const char *home_sub);
/* path made absolute against the current directory (a copy when it already is); NULL with
 * errno on failure. Caller frees. */
char *xdg_absolute(const char *path);

#endif
