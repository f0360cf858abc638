// smtp_client.h - one SMTP transaction with the upstream server, over
// libcurl.
//
//   SmtpClient client(cfg.upstream, cfg.relay, cfg.hostname, &stopping);
//   SendOutcome o = client.send(mail_from, rcpts, prepare_for_relay(data));
//
// What leaves is the sender's message: Bcc and X-Rapport-Confirm header
// fields removed, everything else byte for byte (Message-ID kept, nothing of
// Rapport's findings added). Line ends are normalised to CRLF here because
// curl's CURLOPT_CRLF would also touch CRLF already present; curl does the
// dot-stuffing (RFC 5321 4.5.2) itself.
//
// STARTTLS is required (CURLUSESSL_ALL) unless the upstream is loopback;
// certificates are verified. Each worker keeps one curl handle, so its
// connection to the upstream is reused between messages.
//
// Signing in: a username and password, or ([upstream] auth = "xoauth2" |
// "oauthbearer") an OAuth2 access token from the TokenSource the workers
// share, through libcurl's own SASL (CURLOPT_XOAUTH2_BEARER, the mechanism
// pinned with CURLOPT_LOGIN_OPTIONS "AUTH=..."). A refused token
// (CURLE_LOGIN_DENIED) is renewed - the command runs again - and the
// transaction tried once more at once; refused again, or no token at all,
// and every recipient stays pending with the reason in `error`, so the
// message waits in the retry queue like after any temporary failure.

#pragma once

#include "daemon/lib/config.h"
#include "daemon/lib/queue.h"
#include "daemon/lib/token_command.h"

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

namespace rapport::daemon {

// Removes the Bcc and X-Rapport-Confirm fields (with their folded lines) from
// the header section and turns every line end (CRLF, bare LF, bare CR) into
// CRLF. The body is otherwise untouched.
std::string prepare_for_relay(std::string_view data);

// The outcome of one SMTP transaction, per recipient.
struct SendOutcome {
    bool transaction_done = false;   // the upstream answered end-of-data
    std::string error;               // connection/TLS/auth problem (temporary)
    std::vector<RecipientState> rcpts; // status "sent", "failed" or "pending" (retry)
};

// One upstream connection (a curl easy handle). Not thread-safe; one per worker.
class SmtpClient {
public:
    // `stopping` (may be null) aborts a transfer in progress when it turns true.
    // `tokens` (needed when up.oauth()) gives the OAuth2 access token.
    SmtpClient(const Upstream& up, const RelaySettings& rs, std::string helo, const std::atomic<bool>* stopping = nullptr,
               TokenSource* tokens = nullptr);
    ~SmtpClient();
    SmtpClient(const SmtpClient&) = delete;
    SmtpClient& operator=(const SmtpClient&) = delete;
    SendOutcome send(const std::string& mail_from, const std::vector<std::string>& rcpts, std::string_view data);

private:
    // One curl_easy_perform of the whole transaction, signing in with
    // `token` when it is not empty. Fills `transcript` (a Transcript).
    int perform(const std::string& mail_from, const std::vector<std::string>& rcpts, std::string_view data,
                const std::string& token, void* transcript, std::string& curl_error);

    const Upstream& up_;
    const RelaySettings& rs_;
    std::string url_;
    const std::atomic<bool>* stopping_;
    TokenSource* tokens_;
    void* curl_ = nullptr;
};

} // namespace rapport::daemon
