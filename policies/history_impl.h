// history_impl.h - the sending history's connection and its working
// state, shared by history.cc (lookups, recording, pruning) and
// history_schema.cc (the schema and its migrations). Not for other callers:
// they use history.h.

#pragma once

#include "policies/history.h"

#include "common/sqlite.h"
#include "common/strings.h"
#include "policies/minhash.h"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace rapport::policies {
namespace history_detail {


inline constexpr int kSchemaVersion = 6;

// Organisations per sender_orgs row. A check reads all of a sender's rows
// (one row for a hundred organisations, where one row each made the read
// cost more than the rest of the check's history lookups); a record
// rewrites the one row it changes (a few kilobytes at most, however many
// organisations a sender has written to).
inline constexpr std::size_t kChunkOrgs = 128;
inline constexpr int kChunkBits = 20; // sender_orgs.id = sender << kChunkBits | chunk
inline constexpr std::int64_t kChunkMask = (std::int64_t{1} << kChunkBits) - 1;

using minhash::kTemplateThreshold;



using common::lower;

// Equal slots between a stored signature (2 bytes per value) and `print`.
inline double sig_similarity(const unsigned char* p, std::size_t n, const Fingerprint& print) {
    if (p == nullptr || n != print.minhash.size() * 2) return 0.0;
    std::size_t equal = 0;
    for (std::size_t i = 0; i < print.minhash.size(); ++i)
        equal += (p[2 * i] | (p[2 * i + 1] << 8)) == static_cast<int>(print.minhash[i] & 0xffff);
    return static_cast<double>(equal) / static_cast<double>(print.minhash.size());
}

using sqlite::exec;
using sqlite::Reset;
using sqlite::Stmt;

inline double sig_similarity(const Stmt& s, int col, const Fingerprint& print) {
    auto blob = s.blob_view(col);
    return sig_similarity(reinterpret_cast<const unsigned char*>(blob.data()), blob.size(), print);
}

inline Fingerprint decode_sig(const Stmt& s, int col) {
    auto blob = s.blob_view(col);
    return minhash::decode(blob.data(), blob.size());
}

} // namespace history_detail

using namespace history_detail;

struct SqliteHistory::Impl {
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
            for_each_org(get_orgs->text_view(1), [&](std::string_view org, std::int64_t last) {
                orgs.rows.push_back({std::string(org), last, chunk});
            });
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

    // Calls f(org, time) for each "org TAB time" line of a sender_orgs row.
    template <class F>
    static void for_each_org(std::string_view lines, F&& f) {
        while (!lines.empty()) {
            auto nl = lines.find('\n');
            std::string_view line = lines.substr(0, nl);
            lines = nl == std::string_view::npos ? std::string_view{} : lines.substr(nl + 1);
            auto tab = line.find('\t');
            if (tab != std::string_view::npos) f(line.substr(0, tab), parse_time(line.substr(tab + 1)));
        }
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

    void setup();

    void prepare();

    // Schema 5 -> 6: sender_org's rows into sender_orgs, kChunkOrgs a row.
    void chunk_organisations();

    // Schema 1 -> 2: families and bands recomputed in recording order.
    void rebuild_families();

    // Schema 4 -> 5: band keys recomputed from the stored signatures
    // (minhash::band_keys), a sender at a time, written in key order.
    void rebuild_bands();

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

} // namespace rapport::policies
