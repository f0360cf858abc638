// files.h - directories and secret files.
//
//   mkdirs("/var/lib/rapport/spool");              // 0700, parents too
//   std::string pw = read_secret(path);            // refuses a file others can read
//   write_secret(path, token + "\n", state_dir);   // 0600, atomic, owned like state_dir
//
// A secret (a password, an API token) lives in a file only its owner can
// read. Errors are std::runtime_error with the path and the reason in
// words a person can act on ("readable by others (chmod 600 it)").

#pragma once

#include <string>
#include <string_view>

namespace rapport::common {

// Creates `path` and any missing parents with `mode`; existing ones are fine.
void mkdirs(const std::string& path, unsigned mode = 0700);

// True when the file's group or others may read or write it.
bool readable_by_others(const std::string& path);

// The whole file. Throws when it is missing, unreadable, or (when
// `private_only`) readable by others; the message starts with the path
// ("/etc/rapport/imap.secret is missing").
std::string read_secret(const std::string& path, bool private_only = true);

// Writes `content` to `path` with mode 0600, through a temporary file,
// fsync and rename. When running as root, the file is given to the owner
// of `owner_dir` (a state directory another user runs the daemon from).
void write_secret(const std::string& path, std::string_view content, const std::string& owner_dir = {});

// A file that root (rapportctl under sudo) creates in a state directory
// owned by a service user must belong to that user, or the daemon could not
// read it. Gives the open file `fd` the owner of `dir` in that case only.
void own_like(int fd, const std::string& dir);

} // namespace rapport::common
