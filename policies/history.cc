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

#include "policies/history_impl.h"

#include <cstdio>
#include <map>
#include <stdexcept>

namespace rapport::policies {

// Writes the queued records in one transaction, in order, with real ids.
void SqliteHistory::Impl::flush_queue() {
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

SqliteHistory::SqliteHistory(const std::string& path) : impl_(std::make_unique<Impl>(path)) {}
SqliteHistory::~SqliteHistory() {
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

void SqliteHistory::set_write_behind(std::size_t max_queued) {
    impl_->max_queued = max_queued;
    if (impl_->queued.size() >= std::max<std::size_t>(max_queued, 1)) impl_->flush_queue();
}

void SqliteHistory::flush() { impl_->flush_queue(); }

History::Similar SqliteHistory::find_similar(const std::string& sender, const Fingerprint& print, std::int64_t since,
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

History::SimilarCount SqliteHistory::count_similar(const std::string& sender, const Fingerprint& print,
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
        Similar s = SqliteHistory::find_similar(sender, print, since, until, min_similarity);
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

std::vector<std::string> SqliteHistory::organisations(const std::string& sender, std::int64_t since) const {
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

void SqliteHistory::record(const SentRecord& rec) {
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

void SqliteHistory::prune(std::int64_t before) {
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
                Impl::for_each_org(im.old_orgs->text_view(1), [&](std::string_view org, std::int64_t last) {
                    if (last >= before) c.keep.emplace_back(std::string(org), last);
                });
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

bool SqliteHistory::begin_snapshot() {
    // Only from autocommit: inside a batch the reads share its transaction.
    if (impl_->in_snapshot || !sqlite3_get_autocommit(impl_->db)) return false;
    impl_->begin_read->run(); // deferred: the read lock is taken by the first read
    impl_->in_snapshot = true;
    return true;
}

void SqliteHistory::end_snapshot() noexcept {
    try {
        impl_->end_snapshot();
    } catch (...) {
        // A read-only COMMIT does not fail in practice; nothing to undo.
    }
}

void SqliteHistory::begin_batch() {
    impl_->end_snapshot();
    impl_->flush_queue();
    if (impl_->in_batch) throw std::logic_error("history: begin_batch() inside a batch");
    // A bulk load touches band pages all over the file: a large page cache
    // keeps them from being spilled into the WAL and read back.
    exec(impl_->db, "PRAGMA cache_size=-524288; BEGIN IMMEDIATE");
    impl_->in_batch = true;
    impl_->orgs.sid = 0;
}

void SqliteHistory::end_batch() {
    if (!impl_->in_batch) throw std::logic_error("history: end_batch() without begin_batch()");
    impl_->orgs.sid = 0;
    exec(impl_->db, "COMMIT");
    impl_->in_batch = false;
    exec(impl_->db, "PRAGMA cache_size=-32768");
}



void SqliteHistory::allow(const std::string& type, const std::string& value) {
    if (type != "address" && type != "domain") throw std::invalid_argument("allow: type must be address or domain");
    Impl& im = *impl_;
    im.atomically([&] { im.allow_add->bind(1, type).bind(2, lower(value)).run(); });
    // Kept as written; inside a batch the commit is still to come.
    if (im.in_batch) im.allow_kept.version = -1;
    else im.allow_kept.rows.emplace(type, lower(value));
}

bool SqliteHistory::allowed(const std::string& type, const std::string& value) const {
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

std::vector<std::pair<std::string, std::string>> SqliteHistory::allow_list() const {
    Impl& im = *impl_;
    std::vector<std::pair<std::string, std::string>> out;
    Reset r{*im.allow_all};
    while (im.allow_all->step()) out.emplace_back(im.allow_all->text(0), im.allow_all->text(1));
    return out;
}

} // namespace rapport::policies
