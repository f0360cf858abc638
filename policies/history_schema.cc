// history_schema.cc - the sending history's tables (see history.cc for
// what each holds) and the migrations from earlier versions.

#include "policies/history_impl.h"

#include <stdexcept>

namespace rapport::policies {
namespace {

const char* const kSchema = R"sql(
CREATE TABLE IF NOT EXISTS sender(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS msg(id INTEGER PRIMARY KEY, sender INTEGER NOT NULL,
                               time INTEGER NOT NULL, sig BLOB, tid INTEGER);
CREATE INDEX IF NOT EXISTS msg_sender_time ON msg(sender, time);
CREATE INDEX IF NOT EXISTS msg_time ON msg(time);
CREATE INDEX IF NOT EXISTS msg_tid ON msg(sender, tid, time) WHERE tid IS NOT NULL;
CREATE TABLE IF NOT EXISTS rcpt(msg INTEGER NOT NULL, addr TEXT NOT NULL,
                                PRIMARY KEY(msg, addr)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sender_orgs(id INTEGER PRIMARY KEY, oldest INTEGER NOT NULL, orgs TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sender_orgs_oldest ON sender_orgs(oldest);
CREATE TABLE IF NOT EXISTS allow(type TEXT NOT NULL, value TEXT NOT NULL,
                                 PRIMARY KEY(type, value)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS band(key INTEGER NOT NULL, msg INTEGER NOT NULL,
                                PRIMARY KEY(key, msg)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS family_rcpt(tid INTEGER NOT NULL, addr TEXT NOT NULL, last INTEGER NOT NULL,
                                       PRIMARY KEY(tid, addr)) WITHOUT ROWID;
)sql";

} // namespace

void SqliteHistory::Impl::setup() {
    // History is advisory: after a power cut losing the last few
    // records is acceptable, so WAL without fsync per commit.
    // mmap: candidate rows are read by random access; mapped pages
    // cost no read() call each. The WAL is checkpointed (and synced)
    // every 10000 pages (some 600 records) rather than 1000: fewer,
    // larger pauses, outside the 99th percentile.
    exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA temp_store=MEMORY;"
             "PRAGMA cache_size=-32768; PRAGMA mmap_size=2147483648; PRAGMA wal_autocheckpoint=10000;");
    int version = 0;
    {
        Stmt v(db, "PRAGMA user_version");
        if (v.step()) version = static_cast<int>(v.i64(0));
        v.reset();
    }
    if (version > kSchemaVersion)
        throw std::runtime_error("history: database schema " + std::to_string(version) +
                                 " is newer than this program knows (" + std::to_string(kSchemaVersion) + ")");
    exec(db, "BEGIN IMMEDIATE");
    try {
        // Version 1 had no template families and 17x2 bands.
        const bool migrate = version == 1;
        if (migrate) exec(db, "ALTER TABLE msg ADD COLUMN tid INTEGER; DELETE FROM band;");
        exec(db, kSchema);
        // Versions 3 to 5 kept a row per sender and organisation
        // (sender_org); versions 1 and 2 a row per message and
        // organisation (org).
        if (version >= 1 && version <= 5)
            exec(db, "CREATE TABLE IF NOT EXISTS sender_org(sender INTEGER NOT NULL, org TEXT NOT NULL, "
                     "last INTEGER NOT NULL, PRIMARY KEY(sender, org)) WITHOUT ROWID;");
        if (version == 1 || version == 2)
            exec(db, "INSERT OR REPLACE INTO sender_org(sender, org, last) "
                     "SELECT msg.sender, org.org, max(msg.time) FROM org JOIN msg ON msg.id = org.msg "
                     "GROUP BY msg.sender, org.org; DROP TABLE org;");
        prepare();
        // Version 6: a sender's organisations in a few rows.
        if (version >= 1 && version <= 5) chunk_organisations();
        if (migrate) rebuild_families();
        // Version 4: each family's distinct recipients (after the
        // families of a version 1 database are made, above).
        if (version >= 1 && version <= 3)
            exec(db, "INSERT INTO family_rcpt(tid, addr, last) "
                     "SELECT msg.tid, rcpt.addr, max(msg.time) FROM msg JOIN rcpt ON rcpt.msg = msg.id "
                     "WHERE msg.tid IS NOT NULL GROUP BY msg.tid, rcpt.addr");
        // Version 5: band keys start with the sender's id.
        if (version >= 2 && version <= 4) rebuild_bands();
        exec(db, "PRAGMA user_version=6");
        exec(db, "COMMIT");
    } catch (...) {
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
}

void SqliteHistory::Impl::prepare() {
    auto prep = [&](const char* sql) { return std::make_unique<Stmt>(db, sql, true); };
    begin_read = prep("BEGIN");
    end_read = prep("COMMIT");
    find_sender = prep("SELECT id FROM sender WHERE name = ?1");
    add_sender = prep("INSERT INTO sender(name) VALUES (?1)");
    next_id = prep("SELECT ifnull(max(id), 0) + 1 FROM msg");
    add_msg = prep("INSERT INTO msg(id, sender, time, sig, tid) VALUES (?1, ?2, ?3, ?4, ?5)");
    add_rcpt = prep("INSERT OR IGNORE INTO rcpt(msg, addr) VALUES (?1, ?2)");
    put_orgs = prep("INSERT OR REPLACE INTO sender_orgs(id, oldest, orgs) VALUES (?1, ?2, ?3)");
    add_band = prep("INSERT OR IGNORE INTO band(key, msg) VALUES (?1, ?2)");
    // Newest first (ids grow with recording), a few per bucket. CROSS
    // JOIN keeps the band index first.
    get_cand = prep("SELECT msg.id, msg.tid, msg.sig FROM band CROSS JOIN msg ON msg.id = band.msg "
                    "WHERE band.key = ?1 AND msg.sender = ?2 AND msg.tid IS NOT NULL "
                    "ORDER BY band.msg DESC LIMIT ?3");
    get_family = prep("SELECT msg.id, rcpt.addr FROM msg LEFT JOIN rcpt ON rcpt.msg = msg.id "
                      "WHERE msg.sender = ?1 AND msg.tid = ?2 AND msg.time BETWEEN ?3 AND ?4");
    get_orgs = prep("SELECT id, orgs FROM sender_orgs WHERE id BETWEEN ?1 AND ?2");
    old_msgs = prep("SELECT id, sender, sig, tid FROM msg WHERE time < ?1");
    old_rcpts = prep("SELECT addr FROM rcpt WHERE msg = ?1");
    add_family_rcpt = prep("INSERT INTO family_rcpt(tid, addr, last) VALUES (?1, ?2, ?3) "
                           "ON CONFLICT(tid, addr) DO UPDATE SET last = max(last, excluded.last)");
    count_family = prep("SELECT count(*), ifnull(max(last), 0) FROM family_rcpt WHERE tid = ?1 AND last >= ?2");
    list_family = prep("SELECT addr, last FROM family_rcpt WHERE tid = ?1 AND last >= ?2");
    has_family_rcpt = prep("SELECT last FROM family_rcpt WHERE tid = ?1 AND addr = ?2");
    family_in_window = prep("SELECT 1 FROM msg WHERE sender = ?1 AND tid = ?2 AND time BETWEEN ?3 AND ?4 LIMIT 1");
    del_family_rcpt = prep("DELETE FROM family_rcpt WHERE tid = ?1 AND addr = ?2 AND last < ?3");
    del_band = prep("DELETE FROM band WHERE key = ?1 AND msg = ?2");
    del_rcpt = prep("DELETE FROM rcpt WHERE msg = ?1");
    old_orgs = prep("SELECT id, orgs FROM sender_orgs WHERE oldest < ?1");
    del_orgs = prep("DELETE FROM sender_orgs WHERE id = ?1");
    del_msg = prep("DELETE FROM msg WHERE id = ?1");
    min_time = prep("SELECT min(time) FROM msg");
    set_tid = prep("UPDATE msg SET tid = ?2 WHERE id = ?1");
    pragma_version = prep("PRAGMA data_version");
    allow_add = prep("INSERT OR IGNORE INTO allow(type, value) VALUES (?1, ?2)");
    allow_all = prep("SELECT type, value FROM allow ORDER BY type, value");
}

// Schema 5 -> 6: sender_org's rows into sender_orgs, kChunkOrgs a row.
void SqliteHistory::Impl::chunk_organisations() {
    std::vector<std::pair<std::int64_t, std::vector<std::string>>> by_sender;
    {
        Stmt all(db, "SELECT sender, org, last FROM sender_org ORDER BY sender, org");
        std::int64_t current = 0;
        std::vector<std::pair<std::string, std::int64_t>> rows;
        auto write = [&] {
            for (std::size_t i = 0; i < rows.size(); ++i) {
                const auto chunk = static_cast<std::int64_t>(i / kChunkOrgs);
                orgs.rows.push_back({rows[i].first, rows[i].second, chunk});
            }
            for (std::int64_t c = 0; c * kChunkOrgs < rows.size(); ++c) write_chunk(current, c);
            orgs = Orgs{};
            rows.clear();
        };
        while (all.step()) {
            if (all.i64(0) != current && !rows.empty()) write();
            current = all.i64(0);
            rows.emplace_back(all.text(1), all.i64(2));
        }
        if (!rows.empty()) write();
        all.reset();
    }
    exec(db, "DROP TABLE sender_org");
}

// Schema 1 -> 2: families and bands recomputed in recording order.
void SqliteHistory::Impl::rebuild_families() {
    struct Row {
        std::int64_t id, sender;
        Fingerprint sig;
    };
    std::vector<Row> rows;
    {
        Stmt all(db, "SELECT id, sender, sig FROM msg WHERE sig IS NOT NULL ORDER BY id");
        while (all.step()) rows.push_back({all.i64(0), all.i64(1), decode_sig(all, 2)});
        all.reset();
    }
    for (const Row& r : rows) {
        if (r.sig.empty()) continue;
        search(r.sender, r.sig);
        set_tid->bind(1, r.id).bind(2, best_family(last.cands, r.id)).run();
        for (std::int64_t key : minhash::band_keys(r.sender, r.sig)) add_band->bind(1, key).bind(2, r.id).run();
    }
    last = Search{};
}

// Schema 4 -> 5: band keys recomputed from the stored signatures
// (minhash::band_keys), a sender at a time, written in key order.
void SqliteHistory::Impl::rebuild_bands() {
    exec(db, "DELETE FROM band");
    std::vector<std::pair<std::int64_t, std::int64_t>> rows; // (key, msg) of one sender
    auto write = [&] {
        std::sort(rows.begin(), rows.end());
        for (const auto& [key, id] : rows) add_band->bind(1, key).bind(2, id).run();
        rows.clear();
    };
    Stmt all(db, "SELECT id, sender, sig FROM msg WHERE sig IS NOT NULL ORDER BY sender");
    std::int64_t current = 0;
    while (all.step()) {
        const std::int64_t sender = all.i64(1);
        if (sender != current) write();
        current = sender;
        Fingerprint sig = decode_sig(all, 2);
        if (sig.empty()) continue;
        for (std::int64_t key : minhash::band_keys(sender, sig)) rows.emplace_back(key, all.i64(0));
    }
    write();
    all.reset();
}

} // namespace rapport::policies
