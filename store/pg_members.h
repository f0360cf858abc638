// pg_members.h - job club members in PostgreSQL ([store] url): one list
// for every rapportd of an installation, so a member added once logs in
// (SMTP AUTH, the page, the add-on's token) on any node.
//
//   daemon::Members members(std::make_unique<store::PgMemberRows>(pool));
//
// Only the rows: names, hashes, checks and tokens are daemon::Members'
// (daemon/lib/members.h), the same on SQLite and here. Each call is one
// statement on a pooled connection, read afresh every time, so another
// node's change counts at once. The table is keyed by the member's name,
// which is also the account the history files their mail under
// (docs/multi-node.md, "Sharding").
//
// While PostgreSQL cannot be reached, reads answer from what this node
// last read (every member is read once at start): members go on logging
// in and their mail keeps its group and language, as they were before the
// outage, and nothing on the mail path fails for it. Changes (add, remove,
// passwords, tokens) fail until the store is back.

#pragma once

#include "daemon/lib/members.h"
#include "store/pg.h"

#include <map>
#include <mutex>

namespace rapport::store {

class PgMemberRows final : public daemon::MemberRows {
public:
    explicit PgMemberRows(pg::Pool& pool); // reads every member, when it can

    bool insert(const daemon::Member& m, const std::string& hash) override;
    bool remove(const std::string& name) override;
    bool set_hash(const std::string& name, const std::string& hash) override;
    bool set_group(const std::string& name, const std::string& group) override;
    bool set_role(const std::string& name, daemon::Role role) override;
    bool set_language(const std::string& name, const std::string& language) override;
    std::optional<std::pair<daemon::Member, std::string>> find(const std::string& name) const override;
    std::vector<daemon::Member> list() const override;
    bool any() const override;
    std::optional<std::int64_t> bump_token(const std::string& name) override;

private:
    // UPDATE members SET <column> = $2 WHERE name = $1: whether the member was there.
    bool set(const char* sql, const std::string& name, const std::string& value);
    using Row = std::pair<daemon::Member, std::string>;
    // Reads through f; while the store is unavailable, answers fallback().
    template <class F, class G> auto read(F&& f, G&& fallback) const;
    pg::Pool& pool_;
    mutable std::mutex mu_;
    mutable std::map<std::string, Row> last_; // every member as last read
    mutable bool any_ = false;
};

} // namespace rapport::store
