// store.cc - see store.h.

#include "store/store.h"

#include "store/pg_history.h"
#include "store/pg_ledger.h"
#include "store/pg_members.h"
#include "store/pg_queue.h"
#include "store/schema.h"

#include <thread>

namespace rapport::store {

Store::Store(Options opt, pg::LogFn log) : opt_(std::move(opt)), log_(std::move(log)) {
    pool_ = std::make_unique<pg::Pool>(opt_.url, opt_.pool_size, log_);
    auto pause = std::chrono::seconds(1);
    for (;;) {
        try {
            pg::Conn c(opt_.url);
            int was = migrate(c, log_);
            if (log_)
                log_("store: PostgreSQL at " + pg::redact(opt_.url) + ", schema " + std::to_string(schema_version()) +
                     (was == schema_version() ? "" : " (was " + std::to_string(was) + ")") + ", pool of " +
                     std::to_string(pool_->size()));
            break;
        } catch (const pg::Error& e) {
            if (!e.unavailable()) throw;
            if (log_)
                log_(std::string("warning: store: ") + e.what() + "; waiting for it (next try in " +
                     std::to_string(pause.count()) + " s)");
            std::this_thread::sleep_for(pause);
            pause = std::min(pause * 2, std::chrono::seconds(30));
        }
    }
    listener_ = std::make_unique<pg::Listener>(opt_.url, log_);
    allow_ = std::make_unique<AllowList>(*pool_);
    listener_->on("rapport_allow", [this](const std::string&) { allow_->changed(); });
    org_keys_ = std::make_unique<OrgKeyFeed>();
    listener_->on("rapport_ledger_keys", [this](const std::string& keys) { org_keys_->notified(keys); });
}

Store::~Store() {
    if (listener_) listener_->stop();
}

void Store::start() { listener_->start(); }

std::unique_ptr<policies::History> Store::open_history() { return std::make_unique<PgHistory>(*pool_, *allow_); }

std::unique_ptr<daemon::MemberRows> Store::member_rows() { return std::make_unique<PgMemberRows>(*pool_); }

std::unique_ptr<daemon::QueueState> Store::queue_state(const std::string& node, std::chrono::seconds lease) {
    return std::make_unique<PgQueueState>(*pool_, node, lease);
}

std::unique_ptr<policies::outcomes::LedgerRows> Store::ledger_rows(const std::string& inbox) {
    return std::make_unique<PgLedgerRows>(*pool_, inbox, org_keys_.get());
}

std::string Store::shared_secret(const std::string& name, const std::string& mine) {
    return pool_->with([&](pg::Conn& c) { return store::shared_secret(c, name, mine); });
}

} // namespace rapport::store
