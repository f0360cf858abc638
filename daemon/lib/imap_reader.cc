// imap_reader.cc - see imap_reader.h.

#include "daemon/lib/imap_reader.h"

#include "common/files.h"
#include "common/strings.h"

#include "daemon/lib/background.h"
#include "policies/outcomes/incoming.h"

#include <libetpan/libetpan.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>

namespace rapport::daemon {
namespace po = policies::outcomes;

namespace {

constexpr std::uint32_t kMaxHeaderBytes = 64 * 1024;  // of one message's header fields
constexpr std::uint32_t kMaxPartBytes = 64 * 1024;    // of a report's status part or returned header
constexpr unsigned kIdleRenew = 25 * 60;               // RFC 2177: re-issue IDLE within 29 minutes
constexpr std::size_t kFetchBatch = 200;               // UIDs per FETCH, and per ledger transaction
constexpr std::int64_t kFirstReadDays = 60;            // the reply window (ledger.h)

std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }

// A failure people can act on; what() completes "Rapport can't read your inbox: ...".
struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

bool is_ip(const std::string& host) {
    unsigned char buf[16];
    return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// SNI for a host name (never for an address literal, RFC 6066 section 3).
void tls_setup(struct mailstream_ssl_context* ctx, void* data) {
    auto* host = static_cast<const std::string*>(data);
    if (!is_ip(*host)) mailstream_ssl_set_server_name(ctx, const_cast<char*>(host->c_str()));
}

// The server's last words, for the log: "NO [AUTHENTICATIONFAILED] ...".
std::string server_said(mailimap* imap) {
    if (!imap || !imap->imap_response) return "";
    std::string r = imap->imap_response;
    for (auto& c : r)
        if (c == '\r' || c == '\n') c = ' ';
    if (r.size() > 200) r.resize(200);
    return r;
}

struct SetDeleter {
    void operator()(mailimap_set* s) const { mailimap_set_free(s); }
};
struct FetchTypeDeleter {
    void operator()(mailimap_fetch_type* f) const { mailimap_fetch_type_free(f); }
};
struct FetchListDeleter {
    void operator()(clist* l) const { mailimap_fetch_list_free(l); }
};

// A body part number as libetpan wants it: "2.1" -> {2, 1}.
mailimap_section_part* part_of(const std::vector<std::uint32_t>& path) {
    clist* ids = clist_new();
    for (std::uint32_t n : path) {
        auto* p = static_cast<std::uint32_t*>(malloc(sizeof(std::uint32_t)));
        *p = n;
        clist_append(ids, p);
    }
    return mailimap_section_part_new(ids);
}

using common::lower;

// Where a delivery report keeps what the ledger needs (RFC 3464, RFC 6533).
struct ReportParts {
    std::vector<std::uint32_t> status;   // message/delivery-status
    std::vector<std::uint32_t> returned; // the returned message or its header
    bool returned_is_message = false;    // message/rfc822: fetch [m.HEADER]; else [m]
};

void find_report_parts(const mailimap_body* b, std::vector<std::uint32_t>& path, ReportParts& out, int depth) {
    if (!b || depth > 8) return;
    if (b->bd_type == MAILIMAP_BODY_MPART) {
        std::uint32_t i = 0;
        for (clistiter* it = clist_begin(b->bd_data.bd_body_mpart->bd_list); it; it = clist_next(it)) {
            path.push_back(++i);
            find_report_parts(static_cast<const mailimap_body*>(clist_content(it)), path, out, depth + 1);
            path.pop_back();
        }
        return;
    }
    const mailimap_body_type_1part* one = b->bd_data.bd_body_1part;
    if (!one) return;
    if (one->bd_type == MAILIMAP_BODY_TYPE_1PART_BASIC && one->bd_data.bd_type_basic &&
        one->bd_data.bd_type_basic->bd_media_basic) {
        const auto* mb = one->bd_data.bd_type_basic->bd_media_basic;
        std::string type = mb->med_type == MAILIMAP_MEDIA_BASIC_MESSAGE ? "message"
                           : mb->med_basic_type                         ? lower(mb->med_basic_type)
                                                                         : "";
        std::string sub = mb->med_subtype ? lower(mb->med_subtype) : "";
        if (type == "message" && (sub == "delivery-status" || sub == "global-delivery-status") && out.status.empty())
            out.status = path;
        else if (type == "message" && (sub == "global-headers" || sub == "global") && out.returned.empty()) {
            out.returned = path;
            out.returned_is_message = sub == "global";
        }
    } else if (one->bd_type == MAILIMAP_BODY_TYPE_1PART_TEXT && one->bd_data.bd_type_text &&
               one->bd_data.bd_type_text->bd_media_text) {
        if (lower(one->bd_data.bd_type_text->bd_media_text) == "rfc822-headers" && out.returned.empty())
            out.returned = path;
    } else if (one->bd_type == MAILIMAP_BODY_TYPE_1PART_MSG && out.returned.empty()) {
        out.returned = path;
        out.returned_is_message = true;
    }
}

} // namespace

// ---------------------------------------------------------------- helpers

std::string imap_mailbox_name(std::string_view utf8) {
    static const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
    std::string out;
    std::vector<std::uint16_t> run; // UTF-16 units waiting to be written as one &...- group
    auto flush = [&] {
        if (run.empty()) return;
        out += '&';
        std::uint32_t bits = 0;
        int n = 0;
        for (std::uint16_t u : run) {
            bits = (bits << 16) | u;
            n += 16;
            while (n >= 6) {
                out += b64[(bits >> (n - 6)) & 63];
                n -= 6;
            }
        }
        if (n > 0) out += b64[(bits << (6 - n)) & 63];
        out += '-';
        run.clear();
    };
    for (std::size_t i = 0; i < utf8.size();) {
        auto c = static_cast<unsigned char>(utf8[i]);
        std::uint32_t cp = c;
        std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (len > 1) {
            if (i + len > utf8.size()) break; // a cut sequence: stop there
            cp = c & (0x7F >> len);
            for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(utf8[i + k]) & 0x3F);
        }
        i += len;
        if (cp >= 0x20 && cp <= 0x7E) {
            flush();
            if (cp == '&') out += "&-";
            else out += static_cast<char>(cp);
        } else if (cp >= 0x10000) {
            cp -= 0x10000;
            run.push_back(static_cast<std::uint16_t>(0xD800 + (cp >> 10)));
            run.push_back(static_cast<std::uint16_t>(0xDC00 + (cp & 0x3FF)));
        } else {
            run.push_back(static_cast<std::uint16_t>(cp));
        }
    }
    flush();
    return out;
}

std::string verify_chain(const std::vector<std::string>& der_chain, const std::string& host, const std::string& ca_file) {
    if (der_chain.empty()) return "the server sent no certificate";
    std::vector<X509*> certs;
    for (const auto& der : der_chain) {
        const auto* p = reinterpret_cast<const unsigned char*>(der.data());
        X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
        if (!x) {
            for (X509* c : certs) X509_free(c);
            return "the server's certificate could not be read";
        }
        certs.push_back(x);
    }
    STACK_OF(X509)* untrusted = sk_X509_new_null();
    for (std::size_t i = 1; i < certs.size(); ++i) sk_X509_push(untrusted, certs[i]);
    X509_STORE* store = X509_STORE_new();
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    std::string why;
    if (!store || !ctx || untrusted == nullptr) why = "out of memory";
    else if (X509_STORE_set_default_paths(store) != 1) why = "the system's trusted certificates could not be loaded";
    else if (!ca_file.empty() && X509_STORE_load_locations(store, ca_file.c_str(), nullptr) != 1)
        why = "the ca_file " + ca_file + " could not be read";
    else if (X509_STORE_CTX_init(ctx, store, certs[0], untrusted) != 1) why = "out of memory";
    else {
        X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
        X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
        if (is_ip(host)) X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
        else X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
        if (X509_verify_cert(ctx) != 1) {
            int err = X509_STORE_CTX_get_error(ctx);
            why = X509_verify_cert_error_string(err);
            if (err == X509_V_ERR_HOSTNAME_MISMATCH || err == X509_V_ERR_IP_ADDRESS_MISMATCH)
                why = "it is not made out to " + host;
        }
    }
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_free(untrusted);
    for (X509* c : certs) X509_free(c);
    return why;
}

// ---------------------------------------------------------------- the reader

ImapReader::ImapReader(const ImapSettings& settings, po::Ledger& ledger, LogFn log)
    : s_(settings), ledger_(ledger), log_(std::move(log)),
      tokens_(settings.oauth_token_command, std::max(10u, settings.timeout)) {
    status_.since = now_s();
}

ImapReader::~ImapReader() { stop(); }

void ImapReader::start() {
    if (thread_.joinable()) return;
    stop_ = false;
    thread_ = std::thread([this] { run(); });
}

void ImapReader::stop() {
    stop_ = true;
    {
        std::lock_guard lk(sleep_mu_);
    }
    sleep_cv_.notify_all();
    {
        std::lock_guard lk(io_mu_);
        if (imap_ && imap_->imap_stream) {
            if (idling_) mailstream_interrupt_idle(imap_->imap_stream);
            else mailstream_cancel(imap_->imap_stream);
        }
    }
    if (thread_.joinable()) thread_.join();
}

ImapReader::Status ImapReader::status() const {
    std::lock_guard lk(status_mu_);
    return status_;
}

void ImapReader::set_state(const std::string& state, const std::string& problem) {
    std::lock_guard lk(status_mu_);
    if (status_.state != state || status_.problem != problem) status_.since = now_s();
    status_.state = state;
    status_.problem = problem;
}

bool ImapReader::sleep_for(unsigned seconds) {
    std::unique_lock lk(sleep_mu_);
    sleep_cv_.wait_for(lk, std::chrono::seconds(seconds), [&] { return stop_.load(); });
    return !stop_;
}

void ImapReader::run() {
    lower_this_threads_priority(); // the inbox can wait behind the replies
    unsigned delay = s_.retry_initial;
    bool standby_said = false;
    while (!stop_) {
        reached_ok_ = false;
        std::string problem;
        try {
            // Several rapportd sharing a ledger share this inbox: one reads
            // it, the others wait here and take over when it stops.
            if (!claim_) {
                claim_ = ledger_.claim_inbox();
                if (!claim_) {
                    set_state("standby", "");
                    if (!standby_said)
                        log_("inbox: another rapportd reads " + s_.user + " into the shared ledger; this one takes over "
                             "if it stops (checking every " + std::to_string(s_.poll_seconds) + " s)");
                    standby_said = true;
                    if (!sleep_for(s_.poll_seconds)) break;
                    continue;
                }
                if (standby_said) log_("inbox: this rapportd reads " + s_.user + " now");
                standby_said = false;
            }
            session();
        } catch (const Failure& f) {
            problem = f.what();
        } catch (const std::exception& f) {
            problem = f.what();
        }
        {
            std::lock_guard lk(io_mu_);
            if (imap_) mailimap_free(imap_);
            imap_ = nullptr;
            idling_ = false;
        }
        if (stop_) break;
        if (reached_ok_) delay = s_.retry_initial; // it worked for a while: start the backoff afresh
        if (problem.empty()) problem = "the connection ended";
        set_state("error", problem);
        log_("warning: inbox: Rapport can't read your inbox: " + problem + "; trying again in " + std::to_string(delay) + " s");
        if (!sleep_for(delay)) break;
        delay = std::min(delay * 2, std::max(s_.retry_max, s_.retry_initial));
    }
}

std::string ImapReader::password() {
    std::string text;
    try {
        text = common::read_secret(s_.secret_file);
    } catch (const std::runtime_error& e) {
        throw Failure(std::string("the password file ") + e.what());
    }
    // The first line as it is: spaces may belong to the password.
    std::string line = text.substr(0, text.find('\n'));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) throw Failure("the password file " + s_.secret_file + " is empty");
    return line;
}

void ImapReader::session() {
    const std::string where = HostPort{s_.host, s_.port}.str();
    set_state(status().state == "error" ? "error" : "starting", status().problem);
    mailimap* imap = mailimap_new(0, nullptr);
    if (!imap) throw Failure("out of memory");
    int r;
    {
        // stop() waits for this: it must never cancel a stream being made or swapped.
        std::lock_guard lk(io_mu_);
        imap_ = imap;
        mailimap_set_timeout(imap, s_.timeout);
        if (stop_) return;
        if (s_.implicit_tls)
            r = mailimap_ssl_connect_with_callback(imap, s_.host.c_str(), s_.port, tls_setup,
                                                   const_cast<std::string*>(&s_.host));
        else r = mailimap_socket_connect(imap, s_.host.c_str(), s_.port);
    }
    if (stop_) return;
    if (r != MAILIMAP_NO_ERROR && r != MAILIMAP_NO_ERROR_AUTHENTICATED && r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED) {
        if (r == MAILIMAP_ERROR_SSL || (s_.implicit_tls && r == MAILIMAP_ERROR_STREAM))
            throw Failure("the secure connection to " + where + " failed");
        throw Failure("the mail server " + where + " could not be reached");
    }
    auto capabilities = [&] {
        mailimap_capability_data* caps = nullptr;
        if (mailimap_capability(imap, &caps) != MAILIMAP_NO_ERROR) throw Failure("the connection to " + where + " was lost");
        mailimap_capability_data_free(caps);
    };
    bool tls = s_.implicit_tls;
    if (!tls) {
        capabilities();
        if (mailimap_has_extension(imap, "STARTTLS")) {
            std::lock_guard lk(io_mu_);
            if (stop_) return;
            r = mailimap_socket_starttls_with_callback(imap, tls_setup, const_cast<std::string*>(&s_.host));
            if (r != MAILIMAP_NO_ERROR) throw Failure("STARTTLS with " + where + " failed");
            tls = true;
        } else if (s_.require_tls) {
            throw Failure("the server " + where + " does not offer STARTTLS, and Rapport does not send your "
                          "password unencrypted (use imaps://)");
        }
    }
    if (tls) {
        std::vector<std::string> chain;
        if (carray* c = mailstream_get_certificate_chain(imap->imap_stream)) {
            for (unsigned i = 0; i < carray_count(c); ++i) {
                auto* m = static_cast<MMAPString*>(carray_get(c, i));
                chain.emplace_back(m->str, m->len);
            }
            mailstream_certificate_chain_free(c);
        }
        if (std::string why = verify_chain(chain, s_.host, s_.ca_file); !why.empty())
            throw Failure("the server's certificate could not be verified (" + why + ")");
    }
    capabilities(); // after TLS: what a man in the middle said before it counts for nothing

    if (!s_.oauth_token_command.empty()) {
        std::string token = tokens_.get();
        r = mailimap_oauth2_authenticate(imap, s_.user.c_str(), token.c_str());
        if (r != MAILIMAP_NO_ERROR && !stop_ && imap->imap_stream) {
            // An expired token: ask for a new one, once.
            token = tokens_.renew(token);
            r = mailimap_oauth2_authenticate(imap, s_.user.c_str(), token.c_str());
        }
        if (r != MAILIMAP_NO_ERROR) {
            if (stop_) return;
            log_("inbox: sign-in refused by " + where + ": " + server_said(imap));
            throw Failure("the sign-in token was refused");
        }
    } else {
        r = mailimap_login(imap, s_.user.c_str(), password().c_str());
        if (r != MAILIMAP_NO_ERROR) {
            if (stop_) return;
            if (r == MAILIMAP_ERROR_LOGIN) {
                log_("inbox: sign-in refused by " + where + ": " + server_said(imap));
                throw Failure("the password was refused");
            }
            throw Failure("the connection to " + where + " was lost while signing in");
        }
    }
    capabilities(); // servers announce more once signed in
    const bool idle = mailimap_has_idle(imap);
    const bool condstore = mailimap_has_condstore(imap);
    {
        std::lock_guard lk(status_mu_);
        status_.mode = idle ? "idle" : "poll";
        status_.condstore = condstore;
    }
    log_("inbox: signed in to " + where + " as " + s_.user + " (" + (tls ? "TLS" : "plain, loopback") + ", " +
         (idle ? "IDLE" : "polling every " + std::to_string(s_.poll_seconds) + " s") +
         (condstore ? ", CONDSTORE" : "") + ")");

    // IDLE watches the folder selected last: the first one.
    std::vector<std::string> order(s_.folders.begin() + 1, s_.folders.end());
    order.push_back(s_.folders.front());
    while (!stop_) {
        if (!claim_->held()) {
            claim_.reset(); // claimed again, or waited for, before the next session
            throw Failure("the store connection that reserved this inbox for this rapportd was lost");
        }
        for (const auto& f : order) {
            if (stop_) return;
            check_folder(f, condstore);
        }
        {
            std::lock_guard lk(status_mu_);
            status_.last_check = now_s();
        }
        set_state("ok", "");
        reached_ok_ = true;
        if (idle) wait_idle(s_.folders.size() > 1 ? std::min(s_.poll_seconds, kIdleRenew) : kIdleRenew);
        else if (!sleep_for(s_.poll_seconds)) break;
    }
    if (!stop_) mailimap_logout(imap);
}

void ImapReader::wait_idle(unsigned seconds) {
    mailimap* imap = imap_;
    if (mailimap_idle(imap) != MAILIMAP_NO_ERROR) {
        if (stop_) return;
        throw Failure("the connection was lost (IDLE)");
    }
    int w;
    {
        std::lock_guard lk(io_mu_);
        if (mailstream_setup_idle(imap->imap_stream) != 0) throw Failure("IDLE could not be set up");
        idling_ = true;
    }
    // Bytes the IDLE reply brought along are already buffered: no need to wait.
    if (stop_) w = MAILSTREAM_IDLE_INTERRUPTED;
    else if (imap->imap_stream->read_buffer_len > 0) w = MAILSTREAM_IDLE_HASDATA;
    else w = mailstream_wait_idle(imap->imap_stream, static_cast<int>(seconds));
    {
        std::lock_guard lk(io_mu_);
        mailstream_unsetup_idle(imap->imap_stream);
        idling_ = false;
    }
    if (w == MAILSTREAM_IDLE_ERROR || w == MAILSTREAM_IDLE_CANCELLED) {
        if (stop_) return;
        throw Failure("the connection was lost (IDLE)");
    }
    // HASDATA (new mail, or anything else), TIMEOUT or INTERRUPTED (stop): end it politely.
    if (mailimap_idle_done(imap) != MAILIMAP_NO_ERROR && !stop_) throw Failure("the connection was lost (IDLE)");
}

void ImapReader::check_folder(const std::string& folder, bool condstore) {
    mailimap* imap = imap_;
    const std::string name = imap_mailbox_name(folder);
    std::uint64_t modseq = 0;
    int r = condstore ? mailimap_select_condstore(imap, name.c_str(), &modseq) : mailimap_select(imap, name.c_str());
    if (r != MAILIMAP_NO_ERROR) {
        if (stop_) return;
        if (r == MAILIMAP_ERROR_STREAM) throw Failure("the connection was lost");
        throw Failure("the folder \"" + folder + "\" could not be opened (" + server_said(imap) + ")");
    }
    const std::uint32_t uidvalidity = imap->imap_selection_info ? imap->imap_selection_info->sel_uidvalidity : 0;
    const std::uint32_t uidnext = imap->imap_selection_info ? imap->imap_selection_info->sel_uidnext : 0;

    po::Ledger::FolderState st;
    std::vector<std::uint32_t> uids; // a first read: these; else everything after st.last_uid
    bool first = false;
    if (auto saved = ledger_.folder(folder); saved && saved->uidvalidity == uidvalidity && uidvalidity != 0) {
        st = *saved;
        if (condstore && modseq != 0 && modseq == st.modseq) return; // nothing changed at all
        if (uidnext != 0 && uidnext <= st.last_uid + 1) {               // nothing new
            if (condstore && modseq != st.modseq) {
                st.modseq = modseq;
                ledger_.save_folder(folder, st);
            }
            return;
        }
    } else {
        first = true;
        if (saved)
            log_("inbox: " + folder + ": UIDVALIDITY changed (" + std::to_string(saved->uidvalidity) + " -> " +
                 std::to_string(uidvalidity) + "): the folder was rebuilt; reading its last " +
                 std::to_string(kFirstReadDays) + " days again");
        st = {uidvalidity, 0, 0, saved ? saved->read : 0};
        // The last 60 days: no reply can be later than that.
        std::time_t since = static_cast<std::time_t>(now_s() - kFirstReadDays * 86400);
        std::tm tm{};
        ::gmtime_r(&since, &tm);
        mailimap_search_key* key = mailimap_search_key_new_since(mailimap_date_new(tm.tm_mday, tm.tm_mon + 1, tm.tm_year + 1900));
        clist* found = nullptr;
        r = mailimap_uid_search(imap, nullptr, key, &found);
        mailimap_search_key_free(key);
        if (r != MAILIMAP_NO_ERROR) {
            if (stop_) return;
            throw Failure("the folder \"" + folder + "\" could not be searched");
        }
        for (clistiter* it = clist_begin(found); it; it = clist_next(it))
            uids.push_back(*static_cast<std::uint32_t*>(clist_content(it)));
        mailimap_search_result_free(found);
        std::sort(uids.begin(), uids.end());
    }

    // One FETCH for the header fields of a set of messages.
    auto fetch_headers = [&](mailimap_set* set_raw) {
        std::unique_ptr<mailimap_set, SetDeleter> set(set_raw);
        std::unique_ptr<mailimap_fetch_type, FetchTypeDeleter> ft(mailimap_fetch_type_new_fetch_att_list_empty());
        mailimap_fetch_type_new_fetch_att_list_add(ft.get(), mailimap_fetch_att_new_uid());
        clist* names = clist_new();
        for (const auto& f : po::header_fields()) clist_append(names, strdup(f.c_str()));
        mailimap_section* sec = mailimap_section_new_header_fields(mailimap_header_list_new(names));
        mailimap_fetch_type_new_fetch_att_list_add(ft.get(),
                                                   mailimap_fetch_att_new_body_peek_section_partial(sec, 0, kMaxHeaderBytes));
        clist* raw = nullptr;
        int fr = mailimap_uid_fetch(imap, set.get(), ft.get(), &raw);
        std::unique_ptr<clist, FetchListDeleter> result(raw);
        if (fr != MAILIMAP_NO_ERROR) {
            if (stop_) return std::vector<std::pair<std::uint32_t, std::string>>{};
            throw Failure("the messages in \"" + folder + "\" could not be read");
        }
        std::vector<std::pair<std::uint32_t, std::string>> out;
        for (clistiter* it = clist_begin(result.get()); it; it = clist_next(it)) {
            auto* msg = static_cast<mailimap_msg_att*>(clist_content(it));
            std::uint32_t uid = 0;
            std::string header;
            for (clistiter* a = clist_begin(msg->att_list); a; a = clist_next(a)) {
                auto* item = static_cast<mailimap_msg_att_item*>(clist_content(a));
                if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC) continue;
                auto* stc = item->att_data.att_static;
                if (stc->att_type == MAILIMAP_MSG_ATT_UID) uid = stc->att_data.att_uid;
                else if (stc->att_type == MAILIMAP_MSG_ATT_BODY_SECTION && stc->att_data.att_body_section &&
                         stc->att_data.att_body_section->sec_body_part)
                    header.assign(stc->att_data.att_body_section->sec_body_part,
                                  stc->att_data.att_body_section->sec_length);
            }
            if (uid != 0) out.emplace_back(uid, std::move(header));
        }
        std::sort(out.begin(), out.end());
        return out;
    };

    // One body section of one message, at most `limit` bytes; "" when absent.
    auto fetch_section = [&](std::uint32_t uid, mailimap_section* sec, std::uint32_t limit) -> std::string {
        mailimap_set* set_raw = mailimap_set_new_single(uid);
        std::unique_ptr<mailimap_set, SetDeleter> set(set_raw);
        std::unique_ptr<mailimap_fetch_type, FetchTypeDeleter> ft(mailimap_fetch_type_new_fetch_att_list_empty());
        mailimap_fetch_type_new_fetch_att_list_add(ft.get(), mailimap_fetch_att_new_body_peek_section_partial(sec, 0, limit));
        clist* raw = nullptr;
        int fr = mailimap_uid_fetch(imap, set.get(), ft.get(), &raw);
        std::unique_ptr<clist, FetchListDeleter> result(raw);
        if (fr != MAILIMAP_NO_ERROR) {
            if (stop_) return "";
            throw Failure("a delivery report in \"" + folder + "\" could not be read");
        }
        for (clistiter* it = clist_begin(result.get()); it; it = clist_next(it))
            for (clistiter* a = clist_begin(static_cast<mailimap_msg_att*>(clist_content(it))->att_list); a; a = clist_next(a)) {
                auto* item = static_cast<mailimap_msg_att_item*>(clist_content(a));
                if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC) continue;
                auto* stc = item->att_data.att_static;
                if (stc->att_type == MAILIMAP_MSG_ATT_BODY_SECTION && stc->att_data.att_body_section &&
                    stc->att_data.att_body_section->sec_body_part)
                    return std::string(stc->att_data.att_body_section->sec_body_part,
                                       stc->att_data.att_body_section->sec_length);
            }
        return "";
    };

    // A delivery report's status part and returned header, found through its structure.
    auto read_report = [&](std::uint32_t uid, const std::string& header) -> po::Incoming {
        std::unique_ptr<mailimap_set, SetDeleter> set(mailimap_set_new_single(uid));
        std::unique_ptr<mailimap_fetch_type, FetchTypeDeleter> ft(mailimap_fetch_type_new_fetch_att_list_empty());
        mailimap_fetch_type_new_fetch_att_list_add(ft.get(), mailimap_fetch_att_new_bodystructure());
        clist* raw = nullptr;
        int fr = mailimap_uid_fetch(imap, set.get(), ft.get(), &raw);
        std::unique_ptr<clist, FetchListDeleter> result(raw);
        if (fr != MAILIMAP_NO_ERROR) {
            if (stop_) return po::read_incoming(header);
            throw Failure("a delivery report in \"" + folder + "\" could not be read");
        }
        ReportParts parts;
        for (clistiter* it = clist_begin(result.get()); it; it = clist_next(it))
            for (clistiter* a = clist_begin(static_cast<mailimap_msg_att*>(clist_content(it))->att_list); a; a = clist_next(a)) {
                auto* item = static_cast<mailimap_msg_att_item*>(clist_content(a));
                if (item->att_type == MAILIMAP_MSG_ATT_ITEM_STATIC &&
                    item->att_data.att_static->att_type == MAILIMAP_MSG_ATT_BODYSTRUCTURE) {
                    std::vector<std::uint32_t> path;
                    find_report_parts(item->att_data.att_static->att_data.att_bodystructure, path, parts, 0);
                }
            }
        std::string status, returned;
        if (!parts.status.empty())
            status = fetch_section(uid, mailimap_section_new_part_mime(part_of(parts.status)), kMaxPartBytes) +
                     fetch_section(uid, mailimap_section_new_part(part_of(parts.status)), kMaxPartBytes);
        if (!parts.returned.empty())
            returned = fetch_section(uid,
                                     parts.returned_is_message ? mailimap_section_new_part_header(part_of(parts.returned))
                                                               : mailimap_section_new_part(part_of(parts.returned)),
                                     kMaxPartBytes);
        return po::read_incoming(header, status, returned);
    };

    const auto started = std::chrono::steady_clock::now();
    std::size_t n = 0;
    std::uint32_t lo = 0, hi = 0;
    std::map<std::string, int> tally;
    // One fetched batch: read each message (a delivery report's parts are
    // fetched now, before any write), then match them all and save where
    // the reader got to in one transaction. Stopped part-way, nothing of
    // the batch is written and it is read again next time.
    auto process = [&](const std::vector<std::pair<std::uint32_t, std::string>>& msgs) {
        std::vector<po::Incoming> batch;
        std::vector<std::uint32_t> batch_uids;
        for (const auto& [uid, header] : msgs) {
            if (stop_) return;
            if (uid <= st.last_uid) continue; // "n:*" answers with the last message even when it is older
            po::Incoming in = po::read_incoming(header);
            if (in.report) in = read_report(uid, header);
            if (stop_) return;
            batch.push_back(std::move(in));
            batch_uids.push_back(uid);
        }
        if (batch.empty()) return;
        po::Ledger::FolderState next = st;
        next.last_uid = batch_uids.back();
        next.read += batch.size();
        std::vector<po::Answer> answers = ledger_.add_incoming_batch(batch, now_s(), folder, &next);
        st = next;
        {
            std::lock_guard lk(status_mu_);
            status_.read += batch.size();
        }
        n += batch.size();
        lo = lo ? lo : batch_uids.front();
        hi = batch_uids.back();
        for (std::size_t i = 0; i < answers.size(); ++i) {
            const po::Answer& a = answers[i];
            ++tally[std::string(po::to_string(a.kind))];
            if (!a.application.empty())
                log_("inbox: " + folder + " uid " + std::to_string(batch_uids[i]) + ": " +
                     std::string(po::to_string(a.kind)) + " -> " + a.application + " (" + a.why + ")");
        }
    };
    if (first) {
        for (std::size_t i = 0; i < uids.size() && !stop_; i += kFetchBatch) {
            mailimap_set* set = mailimap_set_new_empty();
            for (std::size_t k = i; k < std::min(uids.size(), i + kFetchBatch); ++k) mailimap_set_add_single(set, uids[k]);
            process(fetch_headers(set));
        }
        // Older messages were passed over on purpose: start after them.
        if (!stop_) st.last_uid = std::max(st.last_uid, uidnext ? uidnext - 1 : st.last_uid);
    } else if (uidnext != 0) {
        // What came since, kFetchBatch UIDs at a time: a long absence costs
        // no more memory than a first read. Anything newer than the SELECT
        // is read on the next round.
        for (std::uint64_t from = std::uint64_t{st.last_uid} + 1; from < uidnext && !stop_; from += kFetchBatch) {
            auto to = static_cast<std::uint32_t>(std::min<std::uint64_t>(uidnext - 1, from + kFetchBatch - 1));
            process(fetch_headers(mailimap_set_new_interval(static_cast<std::uint32_t>(from), to)));
        }
    } else {
        process(fetch_headers(mailimap_set_new_interval(st.last_uid + 1, 0)));
    }
    if (stop_) return;
    st.modseq = modseq;
    ledger_.save_folder(folder, st);
    if (n) {
        std::string counts;
        for (const auto& [k, v] : tally) counts += (counts.empty() ? "" : ", ") + std::to_string(v) + " " + k;
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
        log_("inbox: " + folder + ": read " + std::to_string(n) + " new message" + (n == 1 ? "" : "s") + " (uid " +
             std::to_string(lo) + (hi != lo ? "-" + std::to_string(hi) : "") + ") in " + std::to_string(ms) +
             " ms: " + counts);
    }
}

} // namespace rapport::daemon
