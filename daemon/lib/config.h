// config.h - rapportd's settings: built-in defaults, the TOML file, then flags.
//
//   Config c = load_config(argc, argv);   // throws ConfigError with a reason
//
// Precedence: command-line flag > config file > default (SPEC.md). Secrets
// (upstream and SMTP AUTH passwords) come only from the config file or a
// separate secret file, never from the command line, and are never logged.
// Unknown keys and wrong types are refused with the key named: a typo must
// not silently fall back to a default.
//
// State directory (first that applies): --state, [state] dir, $STATE_DIRECTORY
// (systemd StateDirectory=), $XDG_STATE_HOME/rapport, /var/lib/rapport when
// running as root (a system service), else ~/.local/state/rapport.

#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace rapport::daemon {

struct ConfigError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct HostPort {
    std::string host;   // literal address or name, without brackets
    std::uint16_t port = 0;
    std::string str() const; // "host:port" / "[v6]:port"
};

// "127.0.0.1:2525", "[::1]:2525", "localhost:25". Throws ConfigError.
HostPort parse_host_port(const std::string& s, const std::string& what);

// How rapportd signs in to the upstream ([upstream] auth).
enum class UpstreamAuth {
    password,    // username + password (or none at all): curl picks the best SASL mechanism offered
    xoauth2,     // an OAuth2 access token, SASL XOAUTH2 (Gmail, Outlook.com, Microsoft 365)
    oauthbearer, // an OAuth2 access token, SASL OAUTHBEARER (RFC 7628; Gmail)
};

struct Upstream {
    std::string url;       // smtp://host:port or smtps://host:port; empty: capture mode
    bool implicit_tls = false; // smtps://
    std::string host;
    std::uint16_t port = 0;
    std::string username, password; // from the file or secret_file, never flags
    UpstreamAuth auth = UpstreamAuth::password;
    // With xoauth2/oauthbearer: a command (no shell) whose first line of
    // output is a fresh access token (token_command.h).
    std::string oauth_token_command;
    bool oauth() const { return auth != UpstreamAuth::password; }
    std::string ca_file;    // extra trust anchor (e.g. a private relay's CA)
    bool verify = true;     // certificate + host name verification
    bool require_tls = true; // STARTTLS required; false only for loopback upstreams
};

// Parses an upstream URL; throws ConfigError. Sets require_tls for
// non-loopback hosts.
Upstream parse_upstream(const std::string& url);
bool is_loopback_host(const std::string& host);

struct SmtpLimits {
    std::size_t max_message_size = 25 * 1024 * 1024; // SIZE= and DATA (552 5.3.4)
    std::size_t max_recipients = 100;                 // per message (452 4.5.3)
    std::size_t max_command_line = 2048;              // octets incl. CRLF (500 5.5.2)
    std::size_t max_data_line = 10000;                // octets per message line (554 5.6.0)
    std::size_t max_connections = 500;               // over this: 421 4.7.0 and close
    std::size_t max_connections_per_client = 10;      // from one address (421 4.7.0 and close)
    // Addresses max_connections_per_client does not apply to (this machine,
    // by default: there every mail program shares one address).
    std::vector<std::string> client_limit_exceptions{"127.0.0.1", "::1"};
    std::size_t max_errors = 10;                      // bad commands before 421 and close
    unsigned command_timeout = 300;                   // seconds for one whole command line (RFC 5321 4.5.3.2: 5 min)
    unsigned data_timeout = 300;                      // seconds for DATA, plus one per data_min_rate octets received
    std::size_t data_min_rate = 1024;                 // octets per second; 0: DATA has data_timeout in all
    // Seconds a reply that waits for the verdict (a policy that can reject)
    // waits at most; then 250 and the verdict follows (intake.h).
    unsigned verdict_timeout = 30;
};

// The HTTP API and page (http_server.h): limits on what a client can hold.
struct HttpLimits {
    std::size_t max_header = 16 * 1024;      // request line + header fields (431)
    std::size_t max_body = 32 * 1024 * 1024; // /analyze takes whole messages (25 MB SMTP limit + encoding) (413)
    unsigned header_timeout = 10;            // seconds for the request line and header, from the connection or the last answer
    unsigned request_timeout = 30;           // seconds for a whole request, body included
    std::size_t max_connections = 64;        // open at once; a new one first pushes out the longest waiting for its header
    unsigned sweep_interval = 30;            // seconds between expiry sweeps
};

// SMTP AUTH failures per client address (logins.h).
struct AuthLimits {
    unsigned failure_delay = 1;      // seconds before a failed AUTH is answered; doubles per failure from that address
    unsigned max_failure_delay = 15; // the most it grows to (Dovecot's auth penalty stops at 15 s too)
    unsigned max_failures = 10;      // failures from one address within failure_window; then refused (454 4.7.0)
    unsigned failure_window = 900;   // seconds
    unsigned lockout = 900;          // seconds an address is refused after max_failures
};

struct RelaySettings {
    unsigned workers = 4;                // parallel upstream connections
    unsigned retry_initial = 60;         // seconds before the first retry
    unsigned retry_max = 3600;           // cap of the exponential backoff
    unsigned lifetime = 5 * 24 * 3600;   // then give up and tell the sender
    unsigned connect_timeout = 30;       // seconds
    unsigned transfer_timeout = 600;     // seconds for one whole transaction
    bool notify_sender = true;           // send a failure notice to the envelope sender
};

// Held messages (the HTTP API, `rapportctl held`).
struct HoldSettings {
    unsigned expire = 7 * 24 * 3600; // seconds a held message waits for a decision, then "expired" (never sent)
    bool notify_sender = false;      // mail the sender a short notice when a message is held (needs an upstream)
    // A desktop notification where there is a session bus (desktop_notify.h).
    // Unset: on, unless rapportd runs as root or as a system service.
    std::optional<bool> notify_desktop;
};

// The inbox the reply ledger reads ([imap]; daemon/lib/imap_reader.h).
// One account per daemon; a job club's shared mailbox is that account.
struct ImapSettings {
    std::string url;              // imaps://HOST[:993] or imap://HOST[:143] (STARTTLS); empty: no inbox
    std::string host;
    std::uint16_t port = 0;
    bool implicit_tls = false;    // imaps://
    bool require_tls = true;      // imap:// beyond loopback must STARTTLS; on loopback TLS is used when offered
    std::string user;
    std::string secret_file;      // the password, first line; the file must be 0600 (read at each sign-in)
    std::string oauth_token_command; // or: a command (no shell) printing an access token (XOAUTH2)
    std::vector<std::string> folders{"INBOX"};
    unsigned poll_seconds = 60;   // between checks when the server has no IDLE (or for folders not idled on)
    std::string ca_file;          // an extra trust anchor for the server's certificate
    unsigned retry_initial = 5;   // seconds before reconnecting after a failure, doubling...
    unsigned retry_max = 300;     // ...up to this
    unsigned timeout = 30;        // seconds for one network operation
    bool enabled() const { return !url.empty(); }
};

// Parses an [imap] url; throws ConfigError. Sets host, port, implicit_tls, require_tls.
void parse_imap_url(ImapSettings& s);

// The reply ledger's figures ([outcomes]).
struct OutcomeSettings {
    // false: no ledger at all - nothing is recorded (no ledger.db is
    // written), [imap] is not read, /api/v1/outcomes answers 404.
    bool enabled = true;
    double follow_up_days = 7; // an application without a reply is due a follow-up after this (may be fractional)
};

// How Rapport coaches ([coach]).
struct CoachSettings {
    // The findings' language: "auto" (the language of each mail's own words,
    // policies/language.h) or en, fr, de, es, pl for every mail. A job club
    // member's own setting (rapportctl member set --lang) wins over it.
    std::string language = "auto";
};

// Where what several rapportd share is kept ([store]; store/store.h).
// Empty url: SQLite files under the state directory (one machine).
struct StoreSettings {
    std::string url;            // postgresql://USER@HOST[:PORT]/DB[?...]; the password in password_file or ~/.pgpass
    std::string password_file;  // first line: the password (0600), added to the URL's connection options
    std::size_t pool_size = 10; // connections per node
    // This rapportd's name among the nodes, written into its claims on
    // queued mail (store/pg_queue.h); unique per node. Default: the
    // machine's hostname (gethostname), so two nodes on one machine need
    // one each.
    std::string node;
    bool enabled() const { return !url.empty(); }
};

// The libpq connection URL of [store]: url with the password from
// password_file (which must not be readable by others). Throws ConfigError.
std::string store_connection(const StoreSettings& s);

struct Config {
    HostPort listen{"127.0.0.1", 2525};
    HostPort http{"127.0.0.1", 2526};
    std::string state_dir;
    std::string policy_file;   // empty: the built-in default policy
    std::string hostname;      // greeting / notices; default: gethostname()
    Upstream upstream;
    SmtpLimits limits;
    HttpLimits http_limits;
    RelaySettings relay;
    HoldSettings hold;
    ImapSettings imap;         // the reply ledger's inbox
    OutcomeSettings outcomes;
    CoachSettings coach;
    StoreSettings store;
    std::string tls_cert, tls_key; // PEM files; empty: self-signed in <state>/tls
    std::map<std::string, std::string> users; // SMTP AUTH name -> password or argon2id hash (logins.h)
    AuthLimits auth;
    unsigned spool_threads = 8;    // parallel spool writers (fsync-bound, not CPU-bound)
    unsigned check_lanes = 0;      // parallel policy checks (CPU-bound); 0: one per core
    std::size_t max_backlog = 20000; // messages acknowledged but not yet judged (see intake.h)
    // The spool log (spool_log.h): preallocated segment files messages are
    // appended to before the 250. segment_size 0 turns it off.
    // Each spool thread appends to a segment of its own (spool_threads of
    // them in use), plus ready_segments kept empty: (8 + 4) x 2 MiB = 24 MiB
    // of disk by default. It grows under a burst up to max_segments (256 MiB)
    // and shrinks back once idle. A message larger than a segment gets a file.
    std::size_t segment_size = 2u << 20;
    std::size_t ready_segments = 4;
    std::size_t max_segments = 128;
    std::string config_file;       // for messages
    bool capture() const { return upstream.url.empty(); }
};

// Why rapportd must not start with these settings, or "". Beyond
// loopback (a job club's LAN) SMTP needs both a TLS certificate of the
// operator's choosing ([tls] cert and key: members' mail clients check it,
// so a certificate made up at start-up will not do) and someone to log in
// ([auth] users or members, `rapportctl member add`); otherwise rapportd
// would be an open relay, or take passwords in the clear. The HTTP API and
// page speak plain HTTP and stay on loopback.
std::string refuse_to_listen(const Config& c, bool have_members);

// Defaults, then --config (or none), then flags. argv[0] is skipped.
// Throws ConfigError; "--help" throws ConfigError with the usage text.
Config load_config(int argc, const char* const* argv);

std::string default_state_dir();
std::string usage();

} // namespace rapport::daemon
