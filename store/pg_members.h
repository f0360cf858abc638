// pg_members.h - job club members in PostgreSQL (daemon/lib/members.h),
// shared by every rapportd of an installation: a member added through one
// node logs in on any of them at once.

#pragma once

#include "daemon/lib/members.h"
#include "store/pg.h"

namespace rapport::store {

class PgMemberRows final : public daemon::MemberRows {
public:
    explicit PgMemberRows(pg::Pool& pool) : pool_(pool) {}
    bool insert(const daemon::Member& m, const std::string& hash) override;
    bool remove(const std::string& name) override;
    bool set_hash(const std::string& name, const std::string& hash) override;
    bool set_group(const std::string& name, const std::string& group) override;
    bool set_role(const std::string& name, daemon::Role role) override;
    std::optional<std::pair<daemon::Member, std::string>> find(const std::string& name) const override;
    std::vector<daemon::Member> list() const override;
    bool any() const override;
    std::optional<std::int64_t> bump_token(const std::string& name) override;

private:
    pg::Pool& pool_;
};

} // namespace rapport::store
