// pg_members.cc - see pg_members.h; the table is in schema.cc.

#include "store/pg_members.h"

namespace rapport::store {
namespace {

constexpr const char* kCols = "name, grp, role, created, token_generation, lang";

daemon::Member read_member(const pg::Result& r, int row) {
    daemon::Member m;
    m.name = r.text(row, 0);
    m.group = r.text(row, 1);
    m.role = daemon::parse_role(r.view(row, 2)).value_or(daemon::Role::member);
    m.created = r.i64(row, 3);
    m.token_generation = r.i64(row, 4);
    m.language = r.text(row, 5);
    return m;
}

} // namespace

PgMemberRows::PgMemberRows(pg::Pool& pool) : pool_(pool) {
    try {
        pool_.with([&](pg::Conn& c) {
            auto r = c.exec(std::string("SELECT ") + kCols + ", hash FROM members");
            std::lock_guard lk(mu_);
            for (int i = 0; i < r.rows(); ++i) last_[r.text(i, 0)] = {read_member(r, i), r.text(i, 6)};
            any_ = r.rows() > 0;
        });
    } catch (const pg::Error& e) {
        if (!e.unavailable()) throw;
    }
}

template <class F, class G> auto PgMemberRows::read(F&& f, G&& fallback) const {
    try {
        return pool_.with(f);
    } catch (const pg::Error& e) {
        if (!e.unavailable()) throw;
        std::lock_guard lk(mu_);
        return fallback();
    }
}

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

bool PgMemberRows::set(const char* sql, const std::string& name, const std::string& value) {
    return pool_.with([&](pg::Conn& c) { return c.exec(sql, {name, value}).affected() > 0; });
}

bool PgMemberRows::set_hash(const std::string& name, const std::string& hash) {
    return set("UPDATE members SET hash = $2 WHERE name = $1", name, hash);
}

bool PgMemberRows::set_group(const std::string& name, const std::string& group) {
    return set("UPDATE members SET grp = $2 WHERE name = $1", name, group);
}

bool PgMemberRows::set_role(const std::string& name, daemon::Role role) {
    return set("UPDATE members SET role = $2 WHERE name = $1", name, std::string(daemon::to_string(role)));
}

bool PgMemberRows::set_language(const std::string& name, const std::string& language) {
    return set("UPDATE members SET lang = $2 WHERE name = $1", name, language);
}

std::optional<std::pair<daemon::Member, std::string>> PgMemberRows::find(const std::string& name) const {
    return read(
        [&](pg::Conn& c) -> std::optional<Row> {
            auto r = c.exec(std::string("SELECT ") + kCols + ", hash FROM members WHERE name = $1", {name});
            std::lock_guard lk(mu_);
            if (r.rows() == 0) {
                last_.erase(name);
                return std::nullopt;
            }
            Row row{read_member(r, 0), r.text(0, 6)};
            last_[name] = row;
            return row;
        },
        [&]() -> std::optional<Row> {
            auto it = last_.find(name);
            if (it == last_.end()) return std::nullopt;
            return it->second;
        });
}

std::vector<daemon::Member> PgMemberRows::list() const {
    return read(
        [&](pg::Conn& c) {
            auto r = c.exec(std::string("SELECT ") + kCols + " FROM members ORDER BY name");
            std::vector<daemon::Member> out;
            for (int i = 0; i < r.rows(); ++i) out.push_back(read_member(r, i));
            return out;
        },
        [&] {
            std::vector<daemon::Member> out;
            for (const auto& [name, row] : last_) out.push_back(row.first);
            return out;
        });
}

bool PgMemberRows::any() const {
    return read(
        [&](pg::Conn& c) {
            bool any = c.exec("SELECT EXISTS (SELECT 1 FROM members)").boolean(0, 0);
            std::lock_guard lk(mu_);
            any_ = any;
            return any;
        },
        [&] { return any_; });
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
