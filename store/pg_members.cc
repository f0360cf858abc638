// pg_members.cc - see pg_members.h; the table is in schema.cc.

#include "store/pg_members.h"

namespace rapport::store {
namespace {

constexpr const char* kCols = "name, grp, role, created, token_generation";

daemon::Member read_member(const pg::Result& r, int row) {
    daemon::Member m;
    m.name = r.text(row, 0);
    m.group = r.text(row, 1);
    m.role = daemon::parse_role(r.view(row, 2)).value_or(daemon::Role::member);
    m.created = r.i64(row, 3);
    m.token_generation = r.i64(row, 4);
    return m;
}

} // namespace

bool PgMemberRows::insert(const daemon::Member& m, const std::string& hash) {
    return pool_.with([&](pg::Conn& c) {
        return c.exec("INSERT INTO members (name, hash, grp, role, created) VALUES ($1, $2, $3, $4, $5)"
                      " ON CONFLICT (name) DO NOTHING",
                      {m.name, hash, m.group, std::string(daemon::to_string(m.role)), m.created})
                   .affected() > 0;
    });
}

bool PgMemberRows::remove(const std::string& name) {
    return pool_.with([&](pg::Conn& c) { return c.exec("DELETE FROM members WHERE name = $1", {name}).affected() > 0; });
}

bool PgMemberRows::set_hash(const std::string& name, const std::string& hash) {
    return pool_.with([&](pg::Conn& c) {
        return c.exec("UPDATE members SET hash = $2 WHERE name = $1", {name, hash}).affected() > 0;
    });
}

bool PgMemberRows::set_group(const std::string& name, const std::string& group) {
    return pool_.with([&](pg::Conn& c) {
        return c.exec("UPDATE members SET grp = $2 WHERE name = $1", {name, group}).affected() > 0;
    });
}

bool PgMemberRows::set_role(const std::string& name, daemon::Role role) {
    return pool_.with([&](pg::Conn& c) {
        return c.exec("UPDATE members SET role = $2 WHERE name = $1", {name, std::string(daemon::to_string(role))})
                   .affected() > 0;
    });
}

std::optional<std::pair<daemon::Member, std::string>> PgMemberRows::find(const std::string& name) const {
    return pool_.with([&](pg::Conn& c) -> std::optional<std::pair<daemon::Member, std::string>> {
        auto r = c.exec(std::string("SELECT ") + kCols + ", hash FROM members WHERE name = $1", {name});
        if (r.rows() == 0) return std::nullopt;
        return std::make_pair(read_member(r, 0), r.text(0, 5));
    });
}

std::vector<daemon::Member> PgMemberRows::list() const {
    return pool_.with([&](pg::Conn& c) {
        auto r = c.exec(std::string("SELECT ") + kCols + " FROM members ORDER BY name");
        std::vector<daemon::Member> out;
        for (int i = 0; i < r.rows(); ++i) out.push_back(read_member(r, i));
        return out;
    });
}

bool PgMemberRows::any() const {
    return pool_.with([](pg::Conn& c) { return c.exec("SELECT EXISTS (SELECT 1 FROM members)").boolean(0, 0); });
}

std::optional<std::int64_t> PgMemberRows::bump_token(const std::string& name) {
    return pool_.with([&](pg::Conn& c) -> std::optional<std::int64_t> {
        auto r = c.exec("UPDATE members SET token_generation = token_generation + 1 WHERE name = $1"
                        " RETURNING token_generation",
                        {name});
        if (r.rows() == 0) return std::nullopt;
        return r.i64(0, 0);
    });
}

} // namespace rapport::store
