// history.cc - the sending history in SQLite (see history.h).
//
// Schema (version 6; PRAGMA user_version):
//   sender(id, name)                 one row per account key
//   msg(id, sender, time, sig, tid)  sig: 2-byte b-bit MinHash values, or
//                                    NULL; tid: the message's template
//                                    family (NULL without sig)
//   rcpt(msg, addr)                  lower-case recipient addresses
//   sender_orgs(id, oldest, orgs)    organisation keys written to, with the
//                                    time of the latest message to each, as
//                                    "org TAB time" lines, up to kChunkOrgs
//                                    a row: a check reads a sender's few
//                                    rows, not a row per organisation. The
//                                    id is sender << 20 | row number, so a
//                                    sender's rows are adjacent and, in a
//                                    rowid table, kept whole in their page
//   family_rcpt(tid, addr, last)     each family's distinct recipients with
//                                    the time of its latest message to each
//   band(key, msg)                   LSH band keys (minhash.h): sender id
//                                    << 32 | 32-bit hash, so that a sender's
//                                    rows share pages
//   allow(type, value)               "don't warn me for this one": addresses
//                                    and domains added through the API
// Indexes: msg(sender, time), msg(time) and sender_orgs(oldest) for prune(),
// msg(sender, tid, time) for counting a family's recipients.
// Message bodies are never stored; a signature cannot be turned back into
// text.
//
// Template families: record() gives each message with a signature the tid
// of its most similar earlier message of the sender (verified similarity
// >= kTemplateThreshold = 0.65), else its own id, so a
// family is a chain of near-duplicates. A lookup then needs ONE verified
// member per family: it reads the newest kBucketLimit messages of each of
// the kBands band buckets (bounded work, whatever the bucket sizes - a
// bucket won by a shared bio can hold most of a sender's letters), verifies
// them, and counts the distinct recipients of every message of the matched
// families inside [since, until] through msg(sender, tid, time) - exact,
// not sampled. count_similar() (what template-reuse asks) counts them in
// SQL from family_rcpt instead: one row per family and address, so a
// template sent to thousands costs one short scan, not a read of every
// message and a set of every address.
//
// prune() recomputes the band keys from the stored signatures, so band
// rows need no index on msg; it remembers the oldest stored time, so the
// call after every record() costs nothing until something is due.
//
// One History per thread: the connection and its cached statements are not
// shared across threads. Several processes may open the same file (WAL,
// busy timeout 5 s); changes by others are noticed through the data
// version.

#include "policies/history.h"

#include "common/sqlite.h"
#include "common/strings.h"

#include "policies/minhash.h"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cctype>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace rapport::policies {
namespace {

constexpr int kSchemaVersion = 6;

// Organisations per sender_orgs row. A check reads all of a sender's rows
// (one row for a hundred organisations, where one row each made the read
// cost more than the rest of the check's history lookups); a record
// rewrites the one row it changes (a few kilobytes at most, however many
// organisations a sender has written to).
constexpr std::size_t kChunkOrgs = 128;
constexpr int kChunkBits = 20; // sender_orgs.id = sender << kChunkBits | chunk
constexpr std::int64_t kChunkMask = (std::int64_t{1} << kChunkBits) - 1;

// A message joins the family of an earlier one at this similarity. It is
// above the default min_similarity of find_similar (0.5, "most sentences
// identical") on purpose: families chain, and with 64 MinHash slots a pair
// at J = 0.33 (a four-sentence bio in an eight-sentence letter) is estimated
// at 0.5 or more about once in 500 comparisons - at 0.5 such false links
// merged unrelated families in the adversarial benchmark (65 "matches" per
// lookup instead of ~15); at 0.65 the chance is ~1e-7. A near-copy with
// one sentence of eight rewritten (~0.75) still joins.
constexpr double kTemplateThreshold = 0.65;

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

using common::lower;

// Equal slots between a stored signature (2 bytes per value) and `print`.
double sig_similarity(const unsigned char* p, std::size_t n, const Fingerprint& print) {
    if (p == nullptr || n != print.minhash.size() * 2) return 0.0;
    std::size_t equal = 0;
    for (std::size_t i = 0; i < print.minhash.size(); ++i)
        equal += (p[2 * i] | (p[2 * i + 1] << 8)) == static_cast<int>(print.minhash[i] & 0xffff);
    return static_cast<double>(equal) / static_cast<double>(print.minhash.size());
}

using sqlite::exec;
using sqlite::Reset;
using sqlite::Stmt;

double sig_similarity(const Stmt& s, int col, const Fingerprint& print) {
    auto blob = s.blob_view(col);
    return sig_similarity(reinterpret_cast<const unsigned char*>(blob.data()), blob.size(), print);
}

Fingerprint decode_sig(const Stmt& s, int col) {
    auto blob = s.blob_view(col);
    return minhash::decode(blob.data(), blob.size());
}

} // namespace

struct History::Impl {
    sqlite3* db;
    // Declared after db, so destroyed (finalized) before it is closed.
    std::unique_ptr<Stmt> begin_read, end_read, find_sender, add_sender, next_id, add_msg, add_rcpt, put_orgs, add_band, get_cand,
        get_family, get_orgs, old_msgs, del_band, del_rcpt, old_orgs, del_orgs, del_msg, min_time, set_tid, pragma_version,
        allow_add, allow_all, add_family_rcpt, count_family, list_family, has_family_rcpt, family_in_window,
        old_rcpts, del_family_rcpt;
    std::unordered_map<std::string, std::int64_t> sender_ids; // names known to exist
    bool in_batch = false;
    bool in_snapshot = false; // a Snapshot's read transaction is open
    std::int64_t snapshot_version = -1; // others_version() inside it, once asked

    // The allow list (a few entries, read on every check, three lookups
    // per recipient) as of other connections' data version `version`,
    // with this connection's own additions; -1: not read.
    struct AllowKept {
        std::int64_t version = -1;
        std::set<std::pair<std::string, std::string>> rows;
    } allow_kept;

    // Write-behind (set_write_behind): records not yet written, oldest
    // first. Their ids start at kQueuedBase, above any written id, so they
    // sort as the newest messages (they are) and their family ids can be
    // told apart; flush() gives them real ids.
    static constexpr std::int64_t kQueuedBase = std::int64_t(1) << 62;
    struct Queued {
        std::int64_t id, sid, time;
        std::int64_t tid = 0; // 0: no signature (NULL in msg)
        std::string sig;      // encoded, empty without one
        std::array<std::int64_t, minhash::kBands> keys{};
        std::vector<std::string> rcpts; // lower-case, non-empty
        std::vector<std::string> orgs;  // non-empty
    };
    std::vector<Queued> queued;
    std::size_t max_queued = 0; // 0: write-behind off
    std::int64_t next_queued = kQueuedBase;
    std::uint64_t queue_version = 0; // changes with every change of `queued`

    // A verified candidate of a lookup.
    struct Cand {
        std::int64_t id, tid;
        double sim;
    };
    // The last search, reused by record() right after find_similar() for
    // the same sender and text when the database has not changed since.
    struct Search {
        std::int64_t sid = 0;
        std::string sig;
        std::int64_t stamp = -1;
        std::uint64_t queue_version = 0;
        std::vector<Cand> cands;
    } last;
    std::unordered_set<std::int64_t> seen; // scratch

    // The last sender's organisations with their latest time and the
    // sender_orgs row holding each, read while other connections' data
    // version was `version` and kept up to date with this connection's own
    // writes (queued records are merged apart). A draft checked again and
    // again (the analyze endpoint) or a sender's run of letters reads them
    // once, and a record changes them without reading them again.
    struct OrgRow {
        std::string org;
        std::int64_t last;
        std::int64_t chunk;
    };
    struct Orgs {
        std::int64_t sid = 0; // 0: nothing kept
        std::int64_t version = -1;
        std::vector<OrgRow> rows; // by org
    } orgs;

    // Reads `sid`'s organisations into `orgs` unless they are kept there.
    void load_orgs(std::int64_t sid) {
        const std::int64_t version = others_version();
        if (orgs.sid == sid && orgs.version == version) return;
        orgs = Orgs{};
        Reset r{*get_orgs};
        get_orgs->bind(1, sid << kChunkBits).bind(2, sid << kChunkBits | kChunkMask);
        while (get_orgs->step()) {
            const std::int64_t chunk = get_orgs->i64(0) & kChunkMask;
            std::string_view lines = get_orgs->text_view(1);
            while (!lines.empty()) {
                auto nl = lines.find('\n');
                std::string_view line = lines.substr(0, nl);
                lines = nl == std::string_view::npos ? std::string_view{} : lines.substr(nl + 1);
                auto tab = line.find('\t');
                if (tab == std::string_view::npos) continue;
                orgs.rows.push_back({std::string(line.substr(0, tab)), parse_time(line.substr(tab + 1)), chunk});
            }
        }
        // Each row is written in org order; rows after the first need merging.
        auto by_org = [](const OrgRow& a, const OrgRow& b) { return a.org < b.org; };
        if (!std::is_sorted(orgs.rows.begin(), orgs.rows.end(), by_org))
            std::sort(orgs.rows.begin(), orgs.rows.end(), by_org);
        orgs.sid = sid;
        orgs.version = version;
    }

    // Writes chunk `chunk` of the kept organisations (which are `sid`'s),
    // or deletes its row when it holds none.
    void write_chunk(std::int64_t sid, std::int64_t chunk) {
        std::string text;
        std::int64_t oldest = std::numeric_limits<std::int64_t>::max();
        for (const OrgRow& row : orgs.rows) {
            if (row.chunk != chunk) continue;
            text.append(row.org).append("\t").append(std::to_string(row.last)).append("\n");
            oldest = std::min(oldest, row.last);
        }
        const std::int64_t id = sid << kChunkBits | chunk;
        if (text.empty())
            del_orgs->bind(1, id).run();
        else
            put_orgs->bind(1, id).bind(2, oldest).bind(3, text).run();
    }

    // Inside a write transaction: `written` were written to by `sid` at
    // `time`. Each changed row is rewritten once; a new organisation goes
    // into the last row until it holds kChunkOrgs.
    void add_orgs(std::int64_t sid, const std::vector<std::string>& written, std::int64_t time) {
        if (std::all_of(written.begin(), written.end(), [](const std::string& o) { return o.empty(); })) return;
        load_orgs(sid);
        std::set<std::int64_t> changed;
        std::int64_t last_chunk = 0;
        std::size_t in_last = 0;
        for (const OrgRow& row : orgs.rows) last_chunk = std::max(last_chunk, row.chunk);
        for (const OrgRow& row : orgs.rows) in_last += row.chunk == last_chunk;
        for (const auto& o : written) {
            if (o.empty() || o.find('\t') != std::string::npos || o.find('\n') != std::string::npos) continue;
            auto it = std::lower_bound(orgs.rows.begin(), orgs.rows.end(), o,
                                       [](const OrgRow& row, const std::string& key) { return row.org < key; });
            if (it != orgs.rows.end() && it->org == o) {
                if (it->last >= time) continue;
                it->last = time;
                changed.insert(it->chunk);
                continue;
            }
            if (in_last >= kChunkOrgs && last_chunk < kChunkMask) {
                ++last_chunk;
                in_last = 0;
            }
            orgs.rows.insert(it, {o, time, last_chunk});
            ++in_last;
            changed.insert(last_chunk);
        }
        for (std::int64_t chunk : changed) write_chunk(sid, chunk);
    }

    static std::int64_t parse_time(std::string_view v) {
        bool negative = !v.empty() && v.front() == '-';
        if (negative) v.remove_prefix(1);
        std::int64_t t = 0;
        for (char c : v)
            if (c >= '0' && c <= '9') t = t * 10 + (c - '0');
        return negative ? -t : t;
    }

    // Oldest stored time (max when empty), valid while the data version
    // is `oldest_version` (other connections' commits change it).
    std::int64_t oldest = std::numeric_limits<std::int64_t>::max();
    std::int64_t oldest_version = 0;
    bool oldest_known = false;

    explicit Impl(const std::string& path) : db(sqlite::open(path)) {
        try {
            setup();
        } catch (...) {
            close();
            throw;
        }
    }
    ~Impl() { close(); }

    void close() {
        for (auto* s : {&begin_read, &end_read, &find_sender, &add_sender, &next_id, &add_msg, &add_rcpt, &put_orgs, &add_band, &get_cand,
                        &get_family, &get_orgs, &old_msgs, &del_band, &del_rcpt, &old_orgs, &del_orgs, &del_msg, &min_time,
                        &set_tid, &pragma_version, &allow_add, &allow_all, &add_family_rcpt, &count_family,
                        &list_family, &has_family_rcpt, &family_in_window, &old_rcpts, &del_family_rcpt})
            s->reset();
        sqlite3_close(db);
        db = nullptr;
    }

    void setup() {
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

    void prepare() {
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
    void chunk_organisations() {
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
    void rebuild_families() {
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
    void rebuild_bands() {
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

    // The id of `name`, or 0 when it never sent anything.
    std::int64_t sender_id(const std::string& name) {
        if (auto it = sender_ids.find(name); it != sender_ids.end()) return it->second;
        Reset r{*find_sender};
        find_sender->bind(1, name);
        if (!find_sender->step()) return 0;
        std::int64_t id = find_sender->i64(0);
        sender_ids.emplace(name, id);
        return id;
    }

    std::int64_t sender_id_create(const std::string& name) {
        if (std::int64_t id = sender_id(name)) return id;
        add_sender->bind(1, name).run();
        std::int64_t id = sqlite3_last_insert_rowid(db);
        // Not cached yet: the enclosing transaction might roll back.
        return id;
    }

    // Changes when another connection commits (asks the file: fresh even
    // outside a transaction).
    // Inside a Snapshot the answer cannot change (one read transaction):
    // asked once, it serves organisations(), the search and allowed().
    std::int64_t others_version() {
        if (in_snapshot && snapshot_version >= 0) return snapshot_version;
        Reset r{*pragma_version};
        const std::int64_t v = pragma_version->step() ? pragma_version->i64(0) : 0;
        if (in_snapshot) snapshot_version = v;
        return v;
    }
    // Changes with every change by this connection or commit by another.
    // PRAGMA data_version, not SQLITE_FCNTL_DATA_VERSION: the latter is
    // only refreshed when this connection starts a read transaction, so a
    // search cached before another connection's commit looked current.
    std::int64_t stamp() {
        return static_cast<std::int64_t>(sqlite3_total_changes64(db)) * 4294967296LL + others_version();
    }

    // Verified candidates of `print` (bounded: kBands buckets, the newest
    // kBucketLimit of each), into last.cands.
    void search(std::int64_t sid, const Fingerprint& print) {
        std::string sig = minhash::encode(print);
        std::int64_t now = stamp();
        if (last.sid == sid && last.stamp == now && last.queue_version == queue_version && last.sig == sig) return;
        last.sid = sid;
        last.sig = std::move(sig);
        last.stamp = now;
        last.queue_version = queue_version;
        last.cands.clear();
        seen.clear();
        Stmt& q = *get_cand;
        for (std::int64_t key : minhash::band_keys(sid, print)) {
            // Queued records are the newest of a bucket: they come first,
            // then the written ones fill the bucket's limit - the same
            // candidates as if the queue had been written.
            int taken = 0;
            for (auto it = queued.rbegin(); it != queued.rend() && taken < minhash::kBucketLimit; ++it) {
                if (it->sid != sid || it->sig.empty() ||
                    std::find(it->keys.begin(), it->keys.end(), key) == it->keys.end())
                    continue;
                ++taken;
                if (!seen.insert(it->id).second) continue;
                const auto* p = reinterpret_cast<const unsigned char*>(it->sig.data());
                last.cands.push_back({it->id, it->tid, sig_similarity(p, it->sig.size(), print)});
            }
            if (taken >= minhash::kBucketLimit) continue;
            Reset r{q};
            q.bind(1, key).bind(2, sid).bind(3, minhash::kBucketLimit - taken);
            while (q.step()) {
                std::int64_t id = q.i64(0);
                if (!seen.insert(id).second) continue;
                last.cands.push_back({id, q.i64(1), sig_similarity(q, 2, print)});
            }
        }
    }

    // The families of the candidates at `min_similarity` or above (after
    // search(sid, print)).
    std::set<std::int64_t> matching_families(std::int64_t sid, const Fingerprint& print, double min_similarity) {
        search(sid, print);
        std::set<std::int64_t> families;
        for (const auto& c : last.cands)
            if (c.sim >= min_similarity) families.insert(c.tid);
        return families;
    }

    // The family a new message `id` joins: that of its most similar
    // candidate at kTemplateThreshold or above (the newest on a tie), else
    // its own.
    static std::int64_t best_family(const std::vector<Cand>& cands, std::int64_t id) {
        const Cand* best = nullptr;
        for (const Cand& c : cands)
            if (c.sim >= kTemplateThreshold && (!best || c.sim > best->sim || (c.sim == best->sim && c.id > best->id)))
                best = &c;
        return best ? best->tid : id;
    }

    // The oldest stored time, re-read when another connection committed.
    std::int64_t oldest_time() {
        std::int64_t v = others_version();
        if (!oldest_known || v != oldest_version) {
            Reset r{*min_time};
            oldest = min_time->step() && !min_time->is_null(0) ? min_time->i64(0)
                                                                : std::numeric_limits<std::int64_t>::max();
            oldest_version = v;
            oldest_known = true;
        }
        return oldest;
    }

    // Runs f atomically: its own IMMEDIATE transaction (the reads it does
    // stay valid for its writes), or a savepoint inside a batch.
    // Ends a Snapshot's read transaction early (a write needs its own).
    void end_snapshot() {
        if (!in_snapshot) return;
        in_snapshot = false;
        snapshot_version = -1;
        end_read->run();
    }

    void flush_queue();

    template <class F> void atomically(F&& f) {
        end_snapshot();
        exec(db, in_batch ? "SAVEPOINT rapport_history" : "BEGIN IMMEDIATE");
        try {
            f();
            exec(db, in_batch ? "RELEASE rapport_history" : "COMMIT");
        } catch (...) {
            sqlite3_exec(db, in_batch ? "ROLLBACK TO rapport_history; RELEASE rapport_history" : "ROLLBACK", nullptr,
                         nullptr, nullptr);
            oldest_known = false;
            orgs.sid = 0;
            throw;
        }
    }
};

// Writes the queued records in one transaction, in order, with real ids.
void History::Impl::flush_queue() {
    if (queued.empty()) return;
    atomically([&] {
        std::int64_t id = 0;
        {
            Reset r{*next_id};
            next_id->step();
            id = next_id->i64(0);
        }
        // Family ids of queued families become the id of their first
        // written member (the first one may have been pruned from the
        // queue: a family id is only a label).
        std::unordered_map<std::int64_t, std::int64_t> family;
        for (const Queued& m : queued) {
            const bool has_sig = !m.sig.empty();
            add_msg->bind(1, id).bind(2, m.sid).bind(3, m.time);
            if (has_sig) {
                std::int64_t tid = m.tid;
                if (tid >= kQueuedBase) tid = family.try_emplace(tid, id).first->second;
                add_msg->bind_blob(4, m.sig).bind(5, tid);
            } else {
                add_msg->bind_null(4).bind_null(5);
            }
            add_msg->run();
            for (const auto& a : m.rcpts) add_rcpt->bind(1, id).bind(2, a).run();
            if (has_sig) {
                const std::int64_t tid = m.tid >= kQueuedBase ? family.at(m.tid) : m.tid;
                for (const auto& a : m.rcpts) add_family_rcpt->bind(1, tid).bind(2, a).bind(3, m.time).run();
            }
            add_orgs(m.sid, m.orgs, m.time);
            if (has_sig)
                for (std::int64_t key : m.keys) add_band->bind(1, key).bind(2, id).run();
            if (oldest_known) oldest = std::min(oldest, m.time);
            ++id;
        }
    });
    queued.clear();
    ++queue_version;
    last = Search{}; // it holds queued ids
}

History::History(const std::string& path) : impl_(std::make_unique<Impl>(path)) {}
History::~History() {
    if (!impl_) return;
    if (impl_->in_batch) {
        sqlite3_exec(impl_->db, "ROLLBACK", nullptr, nullptr, nullptr);
        return;
    }
    try {
        impl_->flush_queue();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rapport: history: %zu queued records not written: %s\n", impl_->queued.size(), e.what());
    }
}

void History::set_write_behind(std::size_t max_queued) {
    impl_->max_queued = max_queued;
    if (impl_->queued.size() >= std::max<std::size_t>(max_queued, 1)) impl_->flush_queue();
}

void History::flush() { impl_->flush_queue(); }

History::Similar History::find_similar(const std::string& sender, const Fingerprint& print, std::int64_t since,
                                       std::int64_t until, double min_similarity) const {
    Similar out;
    if (print.minhash.size() != kSignatureSize) return out;
    Impl& im = *impl_;
    std::int64_t sid = im.sender_id(sender);
    if (sid == 0) return out;

    std::set<std::int64_t> families = im.matching_families(sid, print, min_similarity);

    std::set<std::string> recipients;
    std::int64_t prev = 0;
    for (std::int64_t tid : families) {
        for (const auto& m : im.queued) {
            if (m.sid != sid || m.tid != tid || m.time < since || m.time > until) continue;
            ++out.messages;
            recipients.insert(m.rcpts.begin(), m.rcpts.end());
        }
        if (tid >= Impl::kQueuedBase) continue; // only queued members
        Stmt& q = *im.get_family;
        Reset r{q};
        q.bind(1, sid).bind(2, tid).bind(3, since).bind(4, until);
        while (q.step()) {
            std::int64_t id = q.i64(0);
            if (id != prev) ++out.messages; // rows come grouped by message
            prev = id;
            if (!q.is_null(1)) recipients.insert(q.text(1));
        }
    }
    out.recipients.assign(recipients.begin(), recipients.end());
    return out;
}

History::SimilarCount History::count_similar(const std::string& sender, const Fingerprint& print,
                                             std::int64_t since, std::int64_t until,
                                             const std::vector<std::string>& also, const std::string& except,
                                             double min_similarity) const {
    SimilarCount out;
    if (print.minhash.size() != kSignatureSize) return out;
    Impl& im = *impl_;
    std::int64_t sid = im.sender_id(sender);
    if (sid == 0) return out;
    std::set<std::int64_t> families = im.matching_families(sid, print, min_similarity);
    if (families.empty()) return out;

    // The exact way, from every message: when a recipient's latest message
    // is after `until`, family_rcpt cannot tell whether an earlier one is
    // in the window (messages recorded out of date order).
    auto by_messages = [&] {
        Similar s = find_similar(sender, print, since, until, min_similarity);
        SimilarCount c;
        c.found = s.messages > 0;
        std::set<std::string> people(s.recipients.begin(), s.recipients.end());
        people.insert(also.begin(), also.end());
        people.erase(except);
        c.people = people.size();
        return c;
    };

    // Queued members in the window, and their recipients.
    std::set<std::string> extra(also.begin(), also.end());
    for (const auto& m : im.queued) {
        if (m.sid != sid || !families.count(m.tid) || m.time < since || m.time > until) continue;
        out.found = true;
        extra.insert(m.rcpts.begin(), m.rcpts.end());
    }
    std::vector<std::int64_t> written; // families with written members
    for (std::int64_t tid : families)
        if (tid < Impl::kQueuedBase) written.push_back(tid);
    for (std::size_t i = 0; i < written.size() && !out.found; ++i) {
        Reset r{*im.family_in_window};
        im.family_in_window->bind(1, sid).bind(2, written[i]).bind(3, since).bind(4, until);
        out.found = im.family_in_window->step();
    }
    if (!out.found) return out;

    // Written recipients with a message in the window: those whose latest
    // message is at or after `since` (none may be after `until`). One
    // family (a template and its near-copies) is counted in SQL; several
    // are merged by address, as an address can be in more than one.
    std::size_t counted = 0;
    std::unordered_set<std::string> merged;
    if (written.size() == 1) {
        Reset r{*im.count_family};
        im.count_family->bind(1, written[0]).bind(2, since);
        im.count_family->step();
        counted = static_cast<std::size_t>(im.count_family->i64(0));
        if (im.count_family->i64(1) > until) return by_messages();
    } else {
        for (std::int64_t tid : written) {
            Reset r{*im.list_family};
            im.list_family->bind(1, tid).bind(2, since);
            while (im.list_family->step()) {
                if (im.list_family->i64(1) > until) return by_messages();
                merged.insert(im.list_family->text(0));
            }
        }
        counted = merged.size();
    }
    // Is `addr` among those counted?
    auto counted_already = [&](const std::string& addr) {
        if (written.size() != 1) return merged.count(addr) > 0;
        Reset r{*im.has_family_rcpt};
        im.has_family_rcpt->bind(1, written[0]).bind(2, addr);
        return im.has_family_rcpt->step() && im.has_family_rcpt->i64(0) >= since;
    };
    out.people = counted;
    for (const auto& a : extra)
        if (a != except && !counted_already(a)) ++out.people;
    if (!except.empty() && counted_already(except)) --out.people;
    return out;
}

std::vector<std::string> History::organisations(const std::string& sender, std::int64_t since) const {
    std::vector<std::string> out;
    Impl& im = *impl_;
    std::int64_t sid = im.sender_id(sender);
    if (sid == 0) return out;
    im.load_orgs(sid);
    for (const auto& row : im.orgs.rows)
        if (row.last >= since) out.push_back(row.org);
    // Queued records' organisations, merged in order (as if written).
    bool more = false;
    for (const auto& m : im.queued) more = more || (m.sid == sid && m.time >= since && !m.orgs.empty());
    if (more) {
        std::set<std::string> all(out.begin(), out.end());
        for (const auto& m : im.queued)
            if (m.sid == sid && m.time >= since) all.insert(m.orgs.begin(), m.orgs.end());
        out.assign(all.begin(), all.end());
    }
    return out;
}

void History::record(const SentRecord& rec) {
    Impl& im = *impl_;
    if (im.max_queued > 0 && !im.in_batch) {
        // Write-behind: queue it (the sender's row is written at once, so
        // lookups by name work), write the queue when it is full.
        std::int64_t sid = im.sender_id(rec.sender);
        if (sid == 0) {
            im.atomically([&] { sid = im.sender_id_create(rec.sender); });
            im.sender_ids.emplace(rec.sender, sid);
        }
        Impl::Queued m;
        m.id = im.next_queued++;
        m.sid = sid;
        m.time = rec.time;
        if (rec.print.minhash.size() == kSignatureSize) {
            im.search(sid, rec.print);
            m.tid = Impl::best_family(im.last.cands, m.id);
            m.sig = im.last.sig;
            m.keys = minhash::band_keys(sid, rec.print);
        }
        for (const auto& a : rec.recipients) {
            std::string addr = lower(a);
            if (!addr.empty()) m.rcpts.push_back(std::move(addr));
        }
        for (const auto& o : rec.organisations)
            if (!o.empty()) m.orgs.push_back(o);
        im.queued.push_back(std::move(m));
        ++im.queue_version;
        if (im.queued.size() >= im.max_queued) im.flush_queue();
        return;
    }
    im.atomically([&] {
        std::int64_t sid = im.sender_id_create(rec.sender);
        const bool has_sig = rec.print.minhash.size() == kSignatureSize;
        std::int64_t id = 0;
        {
            Reset r{*im.next_id};
            im.next_id->step();
            id = im.next_id->i64(0);
        }
        im.add_msg->bind(1, id).bind(2, sid).bind(3, rec.time);
        std::int64_t tid = 0;
        if (has_sig) {
            im.search(sid, rec.print);
            tid = Impl::best_family(im.last.cands, id);
            im.add_msg->bind_blob(4, im.last.sig).bind(5, tid);
        } else {
            im.add_msg->bind_null(4).bind_null(5);
        }
        im.add_msg->run();
        for (const auto& a : rec.recipients) {
            std::string addr = lower(a);
            if (addr.empty()) continue;
            im.add_rcpt->bind(1, id).bind(2, addr).run();
            if (has_sig) im.add_family_rcpt->bind(1, tid).bind(2, addr).bind(3, rec.time).run();
        }
        im.add_orgs(sid, rec.organisations, rec.time);
        if (has_sig)
            for (std::int64_t key : minhash::band_keys(sid, rec.print)) im.add_band->bind(1, key).bind(2, id).run();
        if (im.oldest_known) im.oldest = std::min(im.oldest, rec.time);
    });
}

void History::prune(std::int64_t before) {
    Impl& im = *impl_;
    if (std::erase_if(im.queued, [&](const Impl::Queued& m) { return m.time < before; }) > 0) ++im.queue_version;
    if (before <= im.oldest_time()) return; // nothing stored before `before`
    im.atomically([&] {
        struct Old {
            std::int64_t id, sender;
            Fingerprint sig;
            std::int64_t tid; // 0: none
        };
        std::vector<Old> old;
        {
            Reset r{*im.old_msgs};
            im.old_msgs->bind(1, before);
            while (im.old_msgs->step())
                old.push_back({im.old_msgs->i64(0), im.old_msgs->i64(1), decode_sig(*im.old_msgs, 2),
                               im.old_msgs->is_null(3) ? 0 : im.old_msgs->i64(3)});
        }
        std::vector<std::string> addrs;
        for (const Old& o : old) {
            if (!o.sig.empty())
                for (std::int64_t key : minhash::band_keys(o.sender, o.sig)) im.del_band->bind(1, key).bind(2, o.id).run();
            if (o.tid != 0) {
                // A family's recipient goes when its latest message does
                // (the row's `last` is before `before`); otherwise a later
                // message to it remains.
                addrs.clear();
                {
                    Reset r{*im.old_rcpts};
                    im.old_rcpts->bind(1, o.id);
                    while (im.old_rcpts->step()) addrs.push_back(im.old_rcpts->text(0));
                }
                for (const auto& a : addrs) im.del_family_rcpt->bind(1, o.tid).bind(2, a).bind(3, before).run();
            }
            im.del_rcpt->bind(1, o.id).run();
            im.del_msg->bind(1, o.id).run();
        }
        // Organisations last written to before `before` leave their rows.
        struct Chunk {
            std::int64_t sender, chunk;
            std::vector<std::pair<std::string, std::int64_t>> keep;
        };
        std::vector<Chunk> chunks;
        {
            Reset r{*im.old_orgs};
            im.old_orgs->bind(1, before);
            while (im.old_orgs->step()) {
                const std::int64_t id = im.old_orgs->i64(0);
                Chunk c{id >> kChunkBits, id & kChunkMask, {}};
                std::string_view lines = im.old_orgs->text_view(1);
                while (!lines.empty()) {
                    auto nl = lines.find('\n');
                    std::string_view line = lines.substr(0, nl);
                    lines = nl == std::string_view::npos ? std::string_view{} : lines.substr(nl + 1);
                    auto tab = line.find('\t');
                    if (tab == std::string_view::npos) continue;
                    std::int64_t last = Impl::parse_time(line.substr(tab + 1));
                    if (last >= before) c.keep.emplace_back(std::string(line.substr(0, tab)), last);
                }
                chunks.push_back(std::move(c));
            }
        }
        for (const Chunk& c : chunks) {
            Impl::Orgs kept;
            for (const auto& [org, last] : c.keep) kept.rows.push_back({org, last, c.chunk});
            std::swap(kept, im.orgs);
            im.write_chunk(c.sender, c.chunk);
            std::swap(kept, im.orgs);
        }
        std::erase_if(im.orgs.rows, [&](const Impl::OrgRow& row) { return row.last < before; });
        im.oldest_known = false; // re-read below, after the commit
    });
    im.oldest_time();
}

History::Snapshot::Snapshot(const History& h) : im_(*h.impl_) {
    // Only from autocommit: inside a batch the reads share its transaction.
    if (im_.in_snapshot || !sqlite3_get_autocommit(im_.db)) return;
    im_.begin_read->run(); // deferred: the read lock is taken by the first read
    im_.in_snapshot = true;
}

History::Snapshot::~Snapshot() {
    try {
        im_.end_snapshot();
    } catch (...) {
        // A read-only COMMIT does not fail in practice; nothing to undo.
    }
}

void History::begin_batch() {
    impl_->end_snapshot();
    impl_->flush_queue();
    if (impl_->in_batch) throw std::logic_error("history: begin_batch() inside a batch");
    // A bulk load touches band pages all over the file: a large page cache
    // keeps them from being spilled into the WAL and read back.
    exec(impl_->db, "PRAGMA cache_size=-524288; BEGIN IMMEDIATE");
    impl_->in_batch = true;
    impl_->orgs.sid = 0;
}

void History::end_batch() {
    if (!impl_->in_batch) throw std::logic_error("history: end_batch() without begin_batch()");
    impl_->orgs.sid = 0;
    exec(impl_->db, "COMMIT");
    impl_->in_batch = false;
    exec(impl_->db, "PRAGMA cache_size=-32768");
}

} // namespace rapport::policies

namespace rapport::policies {

void History::allow(const std::string& type, const std::string& value) {
    if (type != "address" && type != "domain") throw std::invalid_argument("allow: type must be address or domain");
    Impl& im = *impl_;
    im.atomically([&] { im.allow_add->bind(1, type).bind(2, lower(value)).run(); });
    // Kept as written; inside a batch the commit is still to come.
    if (im.in_batch) im.allow_kept.version = -1;
    else im.allow_kept.rows.emplace(type, lower(value));
}

bool History::allowed(const std::string& type, const std::string& value) const {
    Impl& im = *impl_;
    const std::int64_t version = im.others_version();
    if (im.allow_kept.version != version || im.in_batch) {
        im.allow_kept = Impl::AllowKept{};
        Reset r{*im.allow_all};
        while (im.allow_all->step()) im.allow_kept.rows.emplace(im.allow_all->text(0), im.allow_all->text(1));
        im.allow_kept.version = version;
    }
    return im.allow_kept.rows.count({type, lower(value)}) > 0;
}

std::vector<std::pair<std::string, std::string>> History::allow_list() const {
    Impl& im = *impl_;
    std::vector<std::pair<std::string, std::string>> out;
    Reset r{*im.allow_all};
    while (im.allow_all->step()) out.emplace_back(im.allow_all->text(0), im.allow_all->text(1));
    return out;
}

} // namespace rapport::policies
