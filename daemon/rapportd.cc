// rapportd.cc - the Rapport SMTP proxy: wires config, queue, verdict, relay
// and the SMTP listener together, recovers the queue, runs until SIGTERM.
// SIGHUP re-reads the policy file (systemd ExecReload): all or nothing, a
// bad file is logged and the running policy kept; open sessions stay.
// Under systemd (daemon/lib/systemd.h): READY=1 once the queue is
// recovered and both listeners are up, WATCHDOG=1 pings, RELOADING=1 /
// STOPPING=1, and listening sockets passed by rapportd.socket.
//
// Start-up order matters: the queue is recovered (every spool file is
// accounted for) before the relay starts and before the listener accepts,
// so no new message can race a half-recovered queue. Exit codes: 0 after a
// signal, 2 bad configuration, 1 any other fatal error.

#include <utility> // before Boost.Asio under C++20 with g++ 12
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>

#include "common/files.h"
#include "daemon/lib/config.h"
#include "daemon/lib/desktop_notify.h"
#include "daemon/lib/hold.h"
#include "daemon/lib/http_api.h"
#include "daemon/lib/http_server.h"
#include "daemon/lib/intake.h"
#include "daemon/lib/log.h"
#include "daemon/lib/logins.h"
#include "daemon/lib/members.h"
#include "daemon/lib/outcomes.h"
#include "daemon/lib/queue.h"
#include "daemon/lib/relay.h"
#include "daemon/lib/smtp_server.h"
#include "daemon/lib/systemd.h"
#include "daemon/lib/tls.h"
#include "daemon/lib/verdict.h"
#include "policies/language.h"
#include "policies/policy.h"
#include "store/pg_queue.h"
#include "store/store.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <thread>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <sys/stat.h>

namespace rd = rapport::daemon;
namespace asio = boost::asio;

namespace {

int run(rd::Config cfg) { // a copy: socket activation replaces the listen addresses
    rd::LogFn log = rd::log_line;
    // Before anything reads cfg.listen: the inherited sockets' addresses count.
    rd::sd::ListenFds inherited = rd::sd::take_listen_fds(cfg, log);
    rapport::common::mkdirs(cfg.state_dir);

    rapport::policies::Policy policy =
        cfg.policy_file.empty() ? rapport::policies::default_policy() : rapport::policies::load_policy_file(cfg.policy_file);

    // [store] url: what several rapportd share lives in PostgreSQL (waits
    // for it here: nothing can be recovered or judged without it).
    std::unique_ptr<rapport::store::Store> store;
    if (cfg.store.enabled())
        store = std::make_unique<rapport::store::Store>(
            rapport::store::Store::Options{rd::store_connection(cfg.store), cfg.store.pool_size}, log);

    // Job club members (SMTP AUTH with their own passwords).
    rd::Members members = store ? rd::Members(store->member_rows()) : rd::Members(cfg.state_dir);
    bool loopback = rd::is_loopback_host(cfg.listen.host);
    if (std::string why = rd::refuse_to_listen(cfg, !members.empty()); !why.empty()) {
        log("fatal: " + why);
        return 2;
    }
    // A typo in a member's group would quietly give them the main rules.
    auto warn_unknown_groups = [&members, log](const rapport::policies::Policy& p) {
        for (const auto& m : members.list())
            if (!m.group.empty() && !p.has_group(m.group))
                log("warning: member " + m.name + " is in group \"" + m.group +
                    "\", which the policy does not define; their mail is checked with the main rules");
    };
    warn_unknown_groups(policy);

    auto cert = rd::ensure_certificate(cfg.state_dir, cfg.tls_cert, cfg.tls_key, cfg.hostname);
    if (cert.generated) log("generated a self-signed TLS certificate in " + cert.cert);
    asio::ssl::context tls(asio::ssl::context::tls_server);
    tls.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                    asio::ssl::context::single_dh_use);
    tls.use_certificate_chain_file(cert.cert);
    tls.use_private_key_file(cert.key, asio::ssl::context::pem);

    // The spool is this node's; the state rows are shared with the other
    // nodes when there is a store (queue.h).
    rd::Queue queue(cfg.state_dir,
                    store ? store->queue_state(cfg.store.node,
                                               rapport::store::claim_lease(cfg.relay.transfer_timeout))
                          : nullptr);
    unsigned lanes = cfg.check_lanes ? cfg.check_lanes : std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
    rd::VerdictStage::HistoryFactory open_history = [&store, path = cfg.state_dir + "/history.db"]()
        -> std::unique_ptr<rapport::policies::History> {
        if (store) return store->open_history();
        return std::make_unique<rapport::policies::SqliteHistory>(path);
    };
    rd::VerdictStage verdict(policy, open_history, lanes);
    verdict.set_group_lookup([&members](const std::string& account) {
        auto m = members.find(account);
        return m ? m->group : std::string();
    });
    // A member's own language over the daemon's [coach] language.
    verdict.set_language_lookup([&members, &cfg](const std::string& account) {
        std::string own;
        if (!account.empty())
            if (auto m = members.find(account)) own = m->language;
        return rapport::policies::effective_setting({own, cfg.coach.language});
    });
    std::unique_ptr<rd::Relay> relay;
    if (!cfg.capture()) relay = std::make_unique<rd::Relay>(cfg, queue, log);
    // The reply ledger: what leaves (or is stopped) is written on its own
    // thread; the inbox reader starts once the listeners are up. Off
    // ([outcomes] enabled = false): nothing is recorded or read.
    std::unique_ptr<rd::Outcomes> outcomes;
    // With [store] url, one ledger for every node (the inbox read by one of them).
    if (cfg.outcomes.enabled)
        outcomes = std::make_unique<rd::Outcomes>(cfg, &queue, log,
                                                  store ? store->ledger_rows(rd::Outcomes::inbox_name(cfg.imap)) : nullptr);
    // Held mail: the sender's confirmation, the notice, release, expiry.
    std::string api_token = rd::load_or_create_token(cfg.state_dir);
    if (store) {
        // One token for every node: member add-on tokens and confirmations
        // made through one node must pass on the others. Kept in the state
        // directory too, for rapportctl on this machine.
        std::string shared = store->shared_secret("api-token", api_token);
        if (shared != api_token) {
            rapport::common::write_secret(cfg.state_dir + "/api-token", shared + "\n", cfg.state_dir);
            api_token = shared;
        }
    }
    rd::Holds holds(cfg, queue, relay.get(), outcomes.get(), &members, api_token, log);
    // In a user's desktop session, held mail is also a notification whose
    // Review button opens the page with a one-time login link. The API
    // makes those links; it exists once the listeners are up, and until
    // then a Review click finds no page to open.
    std::atomic<rd::HttpApi*> page{nullptr};
    rd::DesktopNotify desktop(
        [&page]() -> std::string {
            rd::HttpApi* api = page.load();
            return api ? api->login_link_url() : "";
        },
        log);
    if (cfg.hold.notify_desktop.value_or(rd::desktop_by_default())) {
        if (desktop.start()) holds.set_desktop(&desktop);
    } else if (!cfg.hold.notify_desktop) {
        log("desktop: no desktop notices for a system service or root by default ([hold] notify_desktop = true asks for them)");
    }
    rd::Intake intake(cfg, queue, verdict, relay.get(), holds, outcomes.get(), log);
    // Before recovery, which must see the messages the log holds. Its first
    // segments are not waited for: mail is accepted at once (plain spool
    // files until then).
    queue.enable_log({cfg.segment_size, cfg.ready_segments, cfg.max_segments, std::chrono::seconds(30),
                      std::max(1u, cfg.spool_threads)},
                     [log, n = cfg.ready_segments, size = cfg.segment_size, t = std::max(1u, cfg.spool_threads)] {
                         log("spool: log ready (a segment for each of " + std::to_string(t) +
                             " spool threads and " + std::to_string(n) + " spare, " + std::to_string(size >> 10) +
                             " KiB each)");
                     });
    if (store) {
        store->pool().on_up([&intake, &outcomes] {
            intake.wake();
            if (outcomes) outcomes->store_back();
        });
        // Queued or released on any node: this node's relay may take it.
        if (relay) store->listener().on("rapport_queue", [&relay](const std::string& id) { relay->heard(id); });
        store->start();
    }
    // The LISTEN thread calls into the relay: it stops before the relay
    // goes, on every way out of here (the store itself outlives both).
    struct ListenerStop {
        rapport::store::Store* store;
        ~ListenerStop() {
            if (store) store->listener().stop();
        }
    } listener_stop{store.get()};
    intake.recover();
    if (relay) relay->start();
    holds.start();

    asio::io_context io(1);
    rd::SmtpServer server(io, cfg, intake, tls, log);
    // SMTP AUTH: members and [auth] users, argon2id hashes both (the
    // config's plain passwords are hashed now and forgotten), checked on a
    // thread of their own so logins never stall mail, guessing limited per
    // client address (logins.h).
    rd::Logins logins(cfg.users, &members, cfg.auth, log);
    server.set_logins(&logins);
    server.start(inherited.smtp);
    // The HTTP API and the page, on their own thread.
    rd::HttpApi api(cfg, queue, holds, verdict, log, &members);
    api.set_outcomes(outcomes.get());
    if (store)
        api.set_store_status([&store, &intake] { return rd::StoreStatus{store->pool().up(), intake.stranded()}; });
    rd::HttpServer http(cfg, api, log);
    http.start(inherited.http);
    page = &api;
    {
        // For rapportctl (held, token, open) and tests: where the API listens.
        std::ofstream(cfg.state_dir + "/http-address") << rd::HostPort{cfg.http.host, http.port()}.str() << "\n";
    }
    std::string addr = rd::HostPort{cfg.listen.host, server.port()}.str();
    {
        // For tests and rapportctl: where this instance listens.
        std::ofstream(cfg.state_dir + "/smtp-address") << addr << "\n";
    }
    log("listening on " + addr + " (SMTP" + (loopback ? "" : ", AUTH required") + "), state " + cfg.state_dir +
        ", policy " + (cfg.policy_file.empty() ? "built-in default" : cfg.policy_file) + ", HTTP " + rd::HostPort{cfg.http.host, http.port()}.str());
    if (cfg.capture())
        log("capture mode: no upstream configured; messages are accepted, checked and kept, nothing is relayed");
    else
        log("relaying to " + cfg.upstream.url + (cfg.upstream.require_tls ? " (STARTTLS required)" : " (loopback: TLS if offered)") +
            (cfg.upstream.username.empty() ? "" : " with AUTH"));

    if (!outcomes)
        log(std::string("reply ledger: off ([outcomes] enabled = false): nothing is recorded") +
            (cfg.imap.enabled() ? "; the inbox in [imap] is not read" : ""));
    else if (cfg.imap.enabled())
        log("inbox: reading " + cfg.imap.url + " as " + cfg.imap.user + " for replies (headers only), folders " +
            std::to_string(cfg.imap.folders.size()) + ", follow-ups after " +
            (std::ostringstream() << cfg.outcomes.follow_up_days).str() + " days");
    if (outcomes) outcomes->start();

    std::string listening = "SMTP " + addr + ", HTTP " + rd::HostPort{cfg.http.host, http.port()}.str();
    auto held_status = [&] {
        std::int64_t held = 0;
        try {
            for (const auto& [status, n] : queue.status_counts())
                if (status == "held") held = n;
        } catch (const rd::StorageError&) { // a shared store that is down: no count, no stop
            return listening + ", store unavailable";
        }
        return listening + ", " + std::to_string(held) + " held";
    };
    rd::sd::Watchdog watchdog(io);
    if (auto period = watchdog.start(); period.count())
        log("watchdog: pinging systemd every " + std::to_string(period.count() / 1000) + " ms");

    // SIGHUP: re-read the policy file. Loading is all or nothing (policy.h);
    // the stages pick the new one up before their next check.
    asio::signal_set hup(io, SIGHUP);
    std::function<void()> wait_hup = [&] {
        hup.async_wait([&](const boost::system::error_code& ec, int) {
            if (ec) return;
            rd::sd::reloading();
            if (cfg.policy_file.empty()) {
                log("reload: no policy file configured; the built-in default stays");
            } else {
                try {
                    rapport::policies::Policy p = rapport::policies::load_policy_file(cfg.policy_file);
                    verdict.set_policy(p); // the proxy, /analyze and /sent alike
                    log("reload: policy " + cfg.policy_file + " loaded");
                    warn_unknown_groups(p);
                } catch (const std::exception& e) {
                    log(std::string("error: reload: policy: ") + e.what() + "; keeping the previous policy");
                }
            }
            rd::sd::ready(held_status());
            wait_hup();
        });
    };
    wait_hup();

    auto log_spool_stats = [&] {
        if (auto* sl = queue.spool_log()) {
            auto st = sl->stats();
            log("spool log: " + std::to_string(st.appended) + " appended, " + std::to_string(st.full) +
                " written as files (no room or too large), " + std::to_string(st.syncs) + " fdatasyncs, " +
                std::to_string(st.made) + " segments made, " + std::to_string(st.moved) + " records moved out; now " +
                std::to_string(st.segments) + " segments, " + std::to_string(st.ready) + " ready, " +
                std::to_string(st.records) + " records");
        }
    };
    // SIGUSR1: log the end-of-DATA -> reply latency so far and start afresh
    // (the benchmark brackets its timed run with it).
    asio::signal_set usr1(io, SIGUSR1);
    std::function<void()> wait_usr1 = [&] {
        usr1.async_wait([&](const boost::system::error_code& ec, int) {
            if (ec) return;
            log("end-of-DATA to reply latency: " + server.latency().summary(true));
            log_spool_stats();
            wait_usr1();
        });
    };
    wait_usr1();
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int sig) {
        log("signal " + std::to_string(sig) + ": shutting down");
        rd::sd::stopping();
        watchdog.stop();
        hup.cancel();
        server.stop();
        io.stop();
    });
    // Last: `systemctl reload` may send SIGHUP as soon as it sees READY=1.
    rd::sd::ready(held_status());
    io.run();
    desktop.stop(); // no more Review clicks: the API goes next
    page = nullptr;
    http.stop(); // no API calls while the queue shuts down
    intake.stop();  // spool writes in flight finish (their clients may be gone)
    verdict.stop(); // then every judged message is routed
    if (outcomes) outcomes->stop(); // the inbox reader, then the ledger's last writes
    if (relay) relay->stop();
    log("end-of-DATA to reply latency: " + server.latency().summary());
    log_spool_stats();
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    rd::Config cfg;
    try {
        cfg = rd::load_config(argc, argv);
    } catch (const rd::ConfigError& e) {
        std::fprintf(stderr, "rapportd: %s\n", e.what());
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = 1;
    try {
        rc = run(cfg);
    } catch (const rapport::policies::PolicyError& e) {
        rd::log_line(std::string("fatal: policy: ") + e.what());
        rc = 2;
    } catch (const std::exception& e) {
        rd::log_line(std::string("fatal: ") + e.what());
        rc = 1;
    }
    curl_global_cleanup();
    return rc;
}
