// store.h - what a rapportd keeps in PostgreSQL when [store] url is set:
// the connection pool, the schema, the LISTEN thread, and the objects
// that implement the shared parts (the history, with its allow-list, the
// job club's members, the reply ledger, the API token and the queue's state).
//
//   store::Store s({.url = cfg.store.url, .pool_size = 10}, log);   // waits for the store, migrates
//   VerdictStage v(policy, [&] { return s.open_history(); }, lanes);
//   Members m(s.member_rows());
//   Queue q(state_dir, s.queue_state("node1", lease));
//   s.listener().on("rapport_queue", ...);                       // the relay hears of queued mail
//   Ledger ledger(s.ledger_rows("amira@imap.example:993"));     // the inbox this node reads, or ""
//   s.start();                                                   // LISTEN for other nodes' changes
//
// Without [store] url none of this exists: SQLite files under the state
// directory, as on one machine.

#pragma once

#include "daemon/lib/members.h"
#include "daemon/lib/queue_state.h"
#include "policies/history.h"
#include "policies/outcomes/ledger_rows.h"
#include "store/pg.h"

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace rapport::store {

class AllowList;
class OrgKeyFeed;

class Store {
public:
    struct Options {
        std::string url;           // postgresql://USER@HOST[:PORT]/DB?...
        std::size_t pool_size = 10; // connections per node, at most
    };
    // Connects and brings the schema up to date. While PostgreSQL cannot be
    // reached it logs why and tries again (1 s doubling to 30 s): a node
    // cannot recover its queue without the store. Throws for a schema newer
    // than this build or a refused login (pg::Error, not unavailable).
    Store(Options opt, pg::LogFn log);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    pg::Pool& pool() { return *pool_; }
    pg::Listener& listener() { return *listener_; }
    // Starts the LISTEN thread (after every on() is registered).
    void start();

    // A history for one verdict lane (one per thread).
    std::unique_ptr<policies::History> open_history();
    // The job club's members, one list for every node.
    std::unique_ptr<daemon::MemberRows> member_rows();
    // The queue's state rows, shared by every node; `node` names this
    // one's claims, `lease` how long they stand (pg_queue.h).
    std::unique_ptr<daemon::QueueState> queue_state(const std::string& node, std::chrono::seconds lease);

    // The reply ledger's rows, one ledger for every node (pg_ledger.h);
    // `inbox` names the IMAP account this node would read ("" for none).
    std::unique_ptr<policies::outcomes::LedgerRows> ledger_rows(const std::string& inbox);

    // store::shared_secret (schema.h) on a pooled connection.
    std::string shared_secret(const std::string& name, const std::string& mine);

private:
    Options opt_;
    pg::LogFn log_;
    std::unique_ptr<pg::Pool> pool_;
    std::unique_ptr<pg::Listener> listener_;
    std::unique_ptr<AllowList> allow_;
    std::unique_ptr<OrgKeyFeed> org_keys_;
};

} // namespace rapport::store
