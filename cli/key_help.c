/* key_help: the help texts of 'embassy key' and its subcommands (man pages are made from
 * them: embassy help --man key). */
#include "key_int.h"

#define SYNOPSIS_ADD                                                                               \
	"  embassy key add STORE --sealer-key FILE [--passphrase-file FILE]\n"                     \
	"                  [--recipient PUBFILE]... [--quorum M --officer PUBFILE...]\n"           \
	"                  [--kdf-memory MiB --kdf-ops N]\n"
#define SYNOPSIS_LIST	"  embassy key list STORE [--json]\n"
#define SYNOPSIS_REMOVE "  embassy key remove STORE NAME --sealer-key FILE\n"
#define SYNOPSIS_SHARE                                                                             \
	"  embassy key share STORE --key-file OFFICER.key --out FILE [--entry NAME]\n"
#define SYNOPSIS_PIN "  embassy key pin KEYFILE [FINGERPRINT | --sealer-key FILE]\n"
#define SYNOPSIS_ROOT                                                                              \
	"  embassy key root STORE [--sealer-key FILE] [--officer PUBFILE]... [--threshold M]\n"    \
	"                  [--timestamp-key PUBFILE] (--sign OFFICER.key... | --prepare FILE)\n"   \
	"  embassy key root --proposal FILE --sign OFFICER.key\n"                                  \
	"  embassy key root STORE --apply FILE [--sealer-key FILE]\n"
#define SYNOPSIS_ROTATE                                                                            \
	"  embassy key rotate-signing STORE --new-sealer-key FILE --valid-through SEQ\n"           \
	"                  (--sign OFFICER.key... | --prepare FILE) [--officer PUBFILE]...\n"      \
	"                  [--threshold M]\n"                                                      \
	"  embassy key rotate-signing STORE --new-sealer-key FILE --apply FILE\n"
#define SYNOPSIS_EPOCHS                                                                            \
	"  embassy key rotate STORE --sealer-key FILE [--remove NAME]...\n"                        \
	"                  [--recipient PUBFILE]... [--officer PUBFILE]...\n"                      \
	"                  [--passphrase-file FILE | --passphrase-command CMD]\n"
#define SYNOPSIS_PASSWD                                                                            \
	"  embassy key passwd STORE --sealer-key FILE [--entry NAME]\n"                            \
	"                  [--new-passphrase-file FILE | --new-passphrase-command CMD]\n"          \
	"                  [--kdf-memory MiB --kdf-ops N]\n"

#define DESC_ADD                                                                                   \
	"  key add wraps the store's key bundle (store id, master key, signing public key)\n"      \
	"  again, for new recovery parties, and writes the new entries to the store's keys/\n"     \
	"  (create-only: an existing entry is never replaced). It needs the sealer key, which\n"   \
	"  holds the master key. The names of the entries written are printed, one a line.\n"      \
	"    --passphrase-file FILE  a passphrase entry for the first line of FILE\n"              \
	"    --recipient PUBFILE     a recipient entry for this public key file; repeatable\n"     \
	"    --quorum M --officer PUBFILE...\n"                                                    \
	"                            one quorum entry: any M of the N officers open the store\n"   \
	"                            together (1 <= M <= N <= 255, each officer a different "      \
	"key)\n"                                                                                   \
	"    --kdf-memory MiB, --kdf-ops N   Argon2id cost of a passphrase entry (default 256\n"   \
	"                            MiB, 3 passes; lower values only for tests)\n"
#define DESC_LIST                                                                                  \
	"  key list prints every object under keys/, one a line: its name, its type\n"             \
	"  (passphrase, recipient, quorum, or unknown / malformed) and for a quorum 'M-of-N'.\n"   \
	"  It needs no credentials, and therefore proves nothing: the entries are read from the\n" \
	"  untrusted host as they are. --json prints an array of {name, type, size, m, n}.\n"
#define DESC_REMOVE                                                                                    \
	"  key remove deletes the key entry NAME ('keys/pass-…' or just 'pass-…'). It needs the\n" \
	"  sealer key, and refuses to remove the last entry that can open the store (a\n"              \
	"  passphrase, recipient or quorum entry). Removing an entry does not revoke anything\n"       \
	"  cryptographically: whoever opened it before may have kept the master key, which\n"          \
	"  stays the same; and the host may keep a copy of the entry.\n"
#define DESC_SHARE                                                                                 \
	"  key share is for quorum officers who cannot meet: it opens the officer's share of a\n"  \
	"  quorum entry with the officer's recipient key file and writes it to the new file\n"     \
	"  FILE (mode 0600; it must not exist):\n"                                                 \
	"      embassy-quorum-share-v1 / entry keys/quorum-<hex> / share <hex>\n"                  \
	"  Carry the share file to the recovery host by a trusted channel: M share files of one\n" \
	"  entry open the store (give them as repeated --share-file options to any command,\n"     \
	"  alone or together with officers' --key-file options). A share is as secret as a\n"      \
	"  key file; delete it after the recovery. --entry NAME chooses among several quorum\n"    \
	"  entries that hold a share for this officer.\n"

#define DESC_PIN                                                                                   \
	"  key pin anchors a recipient key file to a store's signing key: it adds the line\n"      \
	"  'trust FINGERPRINT' to KEYFILE (which keeps its mode 0600; rewritten atomically). A\n"  \
	"  store opened with that key file must then be signed by an anchored key, or it is\n"     \
	"  refused (exit 7). This is what stops a substituted store: anyone who knows the\n"       \
	"  officer's public key (the .pub file is not secret) can make a store of their own\n"     \
	"  whose key entry the officer's key file opens; only the signing key tells them apart.\n" \
	"  FINGERPRINT is the one 'embassy init' printed, handed over by a channel the host\n"     \
	"  cannot touch (paper at the enrolment, a signed letter); --sealer-key FILE takes it\n"   \
	"  from the sealer key file itself. Up to 16 anchors (several stores) per key file.\n"     \
	"  Without FINGERPRINT or --sealer-key, the anchors of KEYFILE are printed.\n"

#define DESC_EPOCHS                                                                                  \
	"  key rotate starts a new key epoch: a new random master key under which every later\n"     \
	"  seal and commit encrypts (snapshots sealed before keep their epoch). Each key entry\n"    \
	"  that stays is written again, under a new name, holding the keys of every epoch, so\n"     \
	"  its holder reads old and new snapshots; the entries named with --remove are not, so\n"    \
	"  their holders (and anyone holding only an older epoch's key) read the snapshots\n"        \
	"  sealed before and none sealed after: those are refused with exit 4. Then every old\n"     \
	"  entry is deleted, and the sealer key file gets the new key (an 'epoch' line; it is\n"     \
	"  rewritten atomically, mode 0600): copies of the old sealer key file can no longer\n"      \
	"  seal. The store keeps no public keys, so each entry that stays needs its holder's:\n"     \
	"    --remove NAME           leave this entry ('rcpt-…', 'quorum-…', 'pass-…') out;\n" \
	"                            repeatable\n"                                                   \
	"    --recipient PUBFILE     the public key file of a recipient whose entry stays\n"         \
	"    --officer PUBFILE       of an officer of a quorum entry that stays (every officer\n"    \
	"                            of the entry; M and the officers stay as they are)\n"           \
	"    --passphrase-file FILE, --passphrase-command CMD\n"                                     \
	"                            the passphrase of the passphrase entries that stay (one\n"      \
	"                            for all of them; remove the others and add them again)\n"       \
	"  A missing key, or a --remove that is not an entry, changes nothing (exit 4 / 6).\n"       \
	"  After a rotation, data is stored once more: record ids are keyed per epoch, so the\n"     \
	"  new epoch shares nothing with older ones. The names written are printed.\n"

#define DESC_PASSWD                                                                                \
	"  key passwd changes the passphrase of one passphrase entry; nothing else in the store\n" \
	"  changes (the master key, snapshots and other entries stay as they are). Like key add\n" \
	"  and key remove it needs the sealer key; the current passphrase must also open the\n"    \
	"  entry it replaces (given as for reading: --passphrase-file, --passphrase-command,\n"    \
	"  EMBASSY_PASSPHRASE, or asked for on the terminal; a running agent is not asked).\n"     \
	"  The new entry is written under a new name and opened again with the new passphrase\n"   \
	"  before the old entry is deleted, so an interruption leaves both passphrases working,\n" \
	"  never none. Its name is printed. The host may keep a copy of the old entry: anyone\n"   \
	"  who knows the old passphrase and has that copy still opens the store.\n"                \
	"    --entry NAME            the passphrase entry to change (default: the first, by\n"     \
	"                            name, of at most 8 that the current passphrase opens)\n"      \
	"    --new-passphrase-file FILE\n"                                                         \
	"                            read the new passphrase from FILE (first line; mode 0600)\n"  \
	"    --new-passphrase-command CMD\n"                                                       \
	"                            run CMD with /bin/sh, read the new passphrase from the\n"     \
	"                            first line it prints; without either, it is asked for\n"      \
	"                            twice on the terminal\n"                                      \
	"    --kdf-memory MiB, --kdf-ops N   Argon2id cost of the new entry, as for key add\n"

#define DESC_ROOT                                                                                  \
	"  key root writes the next version of the store's root document (roots/, FORMAT.md\n"     \
	"  19): the officers' signing keys (--officer, each the .pub file of a signing key\n"      \
	"  pair made with 'embassy keygen'), how many must sign a change (--threshold), and\n"     \
	"  the timestamp key refresh-head may use instead of the sealer key\n"                     \
	"  (--timestamp-key). What is not given\n"                                                 \
	"  stays as in the current version. The first version needs the sealer key (it signs\n"    \
	"  with the key readers pinned) and --threshold of its officers' --sign; a later one\n"    \
	"  --threshold of the current officers' and --threshold of its own officers' --sign\n"     \
	"  (any credential opens the store). Readers then refuse a store whose root versions\n"    \
	"  are withheld or not signed so. The new version number is printed.\n"
#define DESC_ROTATE                                                                                \
	"  key rotate-signing replaces the snapshot (sealer) signing key, stolen or lost: it\n"    \
	"  writes the new sealer key file FILE (store id, master key, a new signing key and the\n" \
	"  store's original key as 'origin'; mode 0600, must not exist), then a root version\n"    \
	"  naming the new key and retiring the old one: snapshots it signed stay valid up to\n"    \
	"  sequence SEQ (--valid-through: the last one known good), anything it signs later is\n"  \
	"  refused. Signed by a threshold of the officers (--sign) like any root version; any\n"   \
	"  credential opens the store. Last, the snapshot list and head are signed again with\n"   \
	"  the new key, naming only snapshots up to SEQ. Readers that remembered a sequence\n"     \
	"  pushed up by a thief start again from the new key's (fast-forward recovery).\n"
#define DESC_APART                                                                                 \
	"  Officers who cannot meet sign apart. --prepare FILE writes the next root version\n"     \
	"  as a proposal file instead of the store (rotate-signing also writes the new sealer\n"   \
	"  key file; the sealer key, given to key root, signs version 1 there). Each officer,\n"   \
	"  on their own machine with only their own signing key file and no store, runs\n"         \
	"  'key root --proposal FILE --sign OFFICER.key': it shows what they sign (version,\n"     \
	"  store, keys, officers, threshold, retired keys) and adds their signature to FILE.\n"    \
	"  --apply FILE then checks the threshold and every signature and writes it (for\n"        \
	"  rotate-signing, with the same --new-sealer-key, then the list and head). A changed\n"   \
	"  proposal, or a signature made over another one, counts for nothing (exit 4).\n"

const char key_help[] =
    "NAME\n"
    "  embassy key - add, list, remove and change a store's key entries; quorum shares\n"
    "\n"
    "SYNOPSIS\n" SYNOPSIS_ADD SYNOPSIS_LIST SYNOPSIS_REMOVE SYNOPSIS_PASSWD SYNOPSIS_SHARE
	SYNOPSIS_PIN SYNOPSIS_ROOT SYNOPSIS_ROTATE SYNOPSIS_EPOCHS "\n"
    "DESCRIPTION\n"
    "  A store's master key is kept in key entries under keys/, each opening it for one\n"
    "  recovery party: a passphrase, a recipient key file ('embassy keygen'), or a quorum\n"
    "  of M of N officers, each holding a recipient key file. 'embassy key SUB --help'\n"
    "  shows one subcommand.\n"
    "\n" DESC_ADD "\n" DESC_LIST "\n" DESC_REMOVE "\n" DESC_PASSWD "\n" DESC_SHARE "\n" DESC_PIN
    "\n" DESC_ROOT "\n" DESC_ROTATE "\n" DESC_APART "\n" DESC_EPOCHS "\n"
    "OPENING A STORE WITH A QUORUM\n"
    "  Officers together give their key files as repeated --key-file options; officers\n"
    "  apart give share files as repeated --share-file options; both mix. Fewer than M\n"
    "  officers: exit 4, 'quorum needs M officers, N given'. Shares of another entry or\n"
    "  store, or a damaged share: exit 4.\n"
    "\n" CLI_HELP_COMMON "\n" CLI_HELP_EXIT "\n"
    "EXAMPLES\n"
    "  embassy key add /srv/embassy --sealer-key sealer.key --recipient officer4.key.pub\n"
    "  embassy key add /srv/embassy --sealer-key sealer.key --quorum 2 \\\n"
    "      --officer o1.key.pub --officer o2.key.pub --officer o3.key.pub\n"
    "  embassy key list /srv/embassy\n"
    "  embassy key remove /srv/embassy pass-3f2a9c0d11e2b4a5 --sealer-key sealer.key\n"
    "  embassy key passwd /srv/embassy --sealer-key sealer.key\n"
    "  embassy key share /srv/embassy --key-file o1.key --out o1.share\n"
    "  embassy key pin o1.key 3f0c9a3e5b1d2c4e6f708192a3b4c5d6\n"
    "  embassy key rotate /srv/embassy --sealer-key sealer.key --remove rcpt-5a1c09e2d3b4f607 \\\n"
    "      --recipient archivist.key.pub --officer o2.key.pub --officer o3.key.pub \\\n"
    "      --officer o4.key.pub --passphrase-file pass.txt\n"
    "  embassy restore /srv/embassy latest /restore --share-file o1.share \\\n"
    "      --share-file o3.share\n";

#define SUB_HELP(name, synopsis, desc, example)                                                    \
	"NAME\n"                                                                                   \
	"  embassy key " name "\n"                                                                 \
	"\n"                                                                                       \
	"SYNOPSIS\n" synopsis "\n"                                                                 \
	"DESCRIPTION\n" desc "\n" CLI_HELP_COMMON "\n" CLI_HELP_EXIT "\n"                          \
	"EXAMPLE\n" example

const char key_help_add[] = SUB_HELP(
    "add - add key entries (needs the sealer key)", SYNOPSIS_ADD, DESC_ADD,
    "  embassy key add /srv/embassy --sealer-key sealer.key --recipient officer4.key.pub\n");
const char key_help_list[] = SUB_HELP("list - list key entries (no credentials)", SYNOPSIS_LIST,
				      DESC_LIST, "  embassy key list /srv/embassy --json\n");
const char key_help_remove[] =
    SUB_HELP("remove - remove a key entry (needs the sealer key)", SYNOPSIS_REMOVE, DESC_REMOVE,
	     "  embassy key remove /srv/embassy keys/pass-3f2a9c0d11e2b4a5 --sealer-key s.key\n");
const char key_help_passwd[] =
    SUB_HELP("passwd - change a passphrase (needs the sealer key and the passphrase)",
	     SYNOPSIS_PASSWD, DESC_PASSWD,
	     "  embassy key passwd /srv/embassy --sealer-key sealer.key \\\n"
	     "      --passphrase-file old.txt --new-passphrase-command 'pass show embassy/new'\n");
const char key_help_share[] =
    SUB_HELP("share - write an officer's quorum share to a file", SYNOPSIS_SHARE, DESC_SHARE,
	     "  embassy key share /srv/embassy --key-file o1.key --out /media/usb/o1.share\n");

const char key_help_epochs[] = SUB_HELP(
    "rotate - a new key epoch, leaving key entries out (needs the sealer key)", SYNOPSIS_EPOCHS,
    DESC_EPOCHS,
    "  embassy key rotate /srv/embassy --sealer-key sealer.key --remove rcpt-5a1c09e2d3b4f607 \\\n"
    "      --recipient archivist.key.pub\n");

const char key_help_pin[] =
    SUB_HELP("pin - anchor a recipient key file to a signing key", SYNOPSIS_PIN, DESC_PIN,
	     "  embassy key pin /media/token/officer1.key 3f0c9a3e5b1d2c4e6f708192a3b4c5d6\n");

const char key_help_root[] =
    SUB_HELP("root - officers, threshold and timestamp key of the root document", SYNOPSIS_ROOT,
	     DESC_ROOT "\n" DESC_APART,
	     "  embassy key root /srv/embassy --sealer-key sealer.key --threshold 2 \\\n"
	     "      --officer o1.sig.pub --officer o2.sig.pub --officer o3.sig.pub \\\n"
	     "      --timestamp-key ts.key.pub --sign o1.sig --sign o2.sig\n");
const char key_help_rotate[] =
    SUB_HELP("rotate-signing - replace the snapshot signing key (an officer quorum)",
	     SYNOPSIS_ROTATE, DESC_ROTATE "\n" DESC_APART,
	     "  embassy key rotate-signing /srv/embassy --passphrase-file pass.txt \\\n"
	     "      --new-sealer-key sealer2.key --valid-through 41 --sign o1.sig --sign o3.sig\n");
