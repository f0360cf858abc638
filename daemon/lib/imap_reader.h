// imap_reader.h - reads the headers of incoming mail for the reply ledger, over IMAP.
//
//   ImapReader reader(cfg.imap, ledger, log);
//   reader.start();                 // its own thread: connect, sign in, read, wait, repeat
//   ImapReader::Status s = reader.status();   // for the page: "Rapport can't read your inbox: ..."
//   reader.stop();
//
// One account ([imap] in the config), one thread, one connection, with
// libetpan's mailimap. Apart from the SMTP path in every way: no lock, queue
// or thread is shared with it, so a slow or dead mail server never delays
// a 250.
//
// Security: imaps:// (TLS from the first byte) or imap:// with STARTTLS;
// plain IMAP only to a loopback host that offers no STARTTLS. The server's
// certificate chain and name are verified with OpenSSL against the system's
// trust store plus [imap] ca_file before any credential is sent (Debian's
// libetpan uses GnuTLS and verifies nothing itself; the chain it hands over
// is the one the handshake proved). The password is read from a 0600
// secret_file at each sign-in (so correcting it needs no restart), or an
// access token comes from oauth_token_command (token_command.h; XOAUTH2),
// fetched again once when refused. Credentials are never logged.
//
// Reading: for each folder, SELECT (with CONDSTORE where offered: an
// unchanged HIGHESTMODSEQ means nothing to read), then UID FETCH of the
// messages after the last UID read, 200 UIDs at a time (memory stays the
// same whatever the inbox holds), BODY.PEEK[HEADER.FIELDS (...)] only
// (PEEK: nothing is marked \Seen; the fields are incoming.h's). A delivery
// report also has its status part (BODY.PEEK[n.MIME] and [n]) and the
// returned message's header ([m.HEADER], or [m] for text/rfc822-headers)
// fetched, found through BODYSTRUCTURE. Never any other body part.
// Each fetched batch is matched and written in one ledger transaction
// together with where the reader got to (UIDVALIDITY, last UID,
// HIGHESTMODSEQ), so a restart or a lost connection reads nothing twice
// and loses nothing; a new
// UIDVALIDITY (the folder was rebuilt) or a first visit reads the messages
// of the last 60 days (UID SEARCH SINCE), the most a reply can be late,
// and the ledger's Message-ID keys keep a re-read message from counting twice.
//
// Several readers, one ledger ([store] url: every node has the same
// [imap] account): before signing in the reader claims the inbox
// (Ledger::claim_inbox); while another node holds it, this one is on
// standby (status "standby") and asks again every poll_seconds. The
// claim is checked before each round of folders; a lost one ends the
// session. A message two readers read anyway counts once (the ledger's
// received-message keys).
//
// Waiting: IDLE (RFC 2177) on the first folder when the server offers it,
// renewed every 25 minutes; the other folders, or all of them without IDLE,
// are checked every poll_seconds. Failures: a plain log line ("warning:
// inbox: Rapport can't read your inbox: the password was refused; trying
// again in 5 s"), status() says the same for the page and the API, and the
// reader reconnects after retry_initial seconds, doubling up to retry_max.

#pragma once

#include "daemon/lib/config.h"
#include "daemon/lib/token_command.h"
#include "policies/outcomes/ledger.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

struct mailimap;

namespace rapport::daemon {

using LogFn = std::function<void(const std::string&)>;

class ImapReader {
public:
    struct Status {
        std::string state = "starting"; // starting | ok | error | standby (another node reads it)
        std::string problem;            // when state is error: what is wrong, for people
        std::string mode;               // idle | poll, once signed in
        bool condstore = false;         // the server offers CONDSTORE
        std::int64_t since = 0;         // when this state began
        std::int64_t last_check = 0;    // when every folder was last read
        std::uint64_t read = 0;         // messages read since start
    };

    ImapReader(const ImapSettings& settings, policies::outcomes::Ledger& ledger, LogFn log);
    ~ImapReader();
    ImapReader(const ImapReader&) = delete;
    ImapReader& operator=(const ImapReader&) = delete;

    void start();
    // Interrupts a wait or a network operation and joins the thread.
    void stop();
    Status status() const;

private:
    void run();
    void session();               // one connection, until stop() or a failure (throws)
    void check_folder(const std::string& folder, bool condstore);
    void wait_idle(unsigned seconds);
    bool sleep_for(unsigned seconds); // false when stopping
    std::string password();
    void set_state(const std::string& state, const std::string& problem);

    const ImapSettings& s_;
    policies::outcomes::Ledger& ledger_;
    LogFn log_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::mutex sleep_mu_;
    std::condition_variable sleep_cv_;
    // Guards imap_ against stop() while the reader creates, swaps (STARTTLS)
    // or frees the connection, and says whether it is in IDLE.
    std::mutex io_mu_;
    mailimap* imap_ = nullptr;
    bool idling_ = false;
    mutable std::mutex status_mu_;
    Status status_;
    TokenSource tokens_; // the oauth_token_command's access token (token_command.h)
    bool reached_ok_ = false; // this session read every folder once
    std::unique_ptr<policies::outcomes::InboxClaim> claim_; // this reader's right to the inbox
};

// Helpers, pure, for the tests.

// A folder name in IMAP's modified UTF-7 (RFC 3501 5.1.3): "Boîte" -> "Bo&AO4-te".
std::string imap_mailbox_name(std::string_view utf8);
// Verifies a certificate chain (DER, the server's own first) for `host` (a
// name or an IP address) against the system trust store and `ca_file` (may be
// empty). "" when good, else why not in a few words.
std::string verify_chain(const std::vector<std::string>& der_chain, const std::string& host, const std::string& ca_file);

} // namespace rapport::daemon
