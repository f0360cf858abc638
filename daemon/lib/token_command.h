// token_command.h - OAuth2 access tokens from a helper program, for every
// part of rapportd that signs in to a mail server with one (the upstream
// SMTP relay, the inbox reader).
//
//   TokenSource tokens(cfg.upstream.oauth_token_command, 30);
//   std::string t = tokens.get();          // runs the command the first time
//   ... the server refuses t ...
//   t = tokens.renew(t);                   // runs it again, once per refusal
//
// The command is what `oauth_token_command` says (like msmtp's passwordeval
// or neomutt's smtp_oauth_refresh_command), split into words here and run
// without a shell, standard input /dev/null, standard error inherited (its
// complaints reach rapportd's log), within a time limit. The first line of
// its standard output is the token; the rest is ignored. The token is kept
// in memory only and wiped when replaced or destroyed; it is never logged,
// and neither is anything else the command prints.
//
// The helper keeps the long-lived refresh token and talks to the provider;
// rapportd only ever holds the short-lived access token.

#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace rapport::daemon {

// Splits a command line into words without a shell: spaces separate, '...'
// and "..." group, a backslash escapes the next character outside '...'.
std::vector<std::string> split_command(std::string_view line);

// Runs a token command (split_command(), no shell) and returns the first
// line of its output, within `timeout` seconds. Throws std::runtime_error
// with a phrase for people ("the oauth_token_command failed (exit status
// 1)") when it cannot start, fails, prints nothing or takes too long (it is
// then killed).
std::string run_token_command(const std::string& line, unsigned timeout);

// One command's token, shared by threads. A server's refusal is answered
// by renew() with the token it refused: when several connections are
// refused the same stale token at once, the command runs once and all of
// them get its new token.
class TokenSource {
public:
    TokenSource(std::string command, unsigned timeout);
    ~TokenSource();
    TokenSource(const TokenSource&) = delete;
    TokenSource& operator=(const TokenSource&) = delete;

    // The token in hand, or the command's first one. Throws std::runtime_error.
    std::string get();
    // A server refused `refused`: the command runs again, unless the token
    // in hand is already another one. Throws std::runtime_error.
    std::string renew(const std::string& refused);

private:
    void replace(std::string token); // with mu_ held

    const std::string command_;
    const unsigned timeout_;
    std::mutex mu_; // held while the command runs: others wait for its token
    std::string token_;
};

} // namespace rapport::daemon
