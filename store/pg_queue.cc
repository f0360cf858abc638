// pg_queue.cc - see pg_queue.h; the tables are in schema.cc.

#include "store/pg_queue.h"

#include "common/strings.h"

#include <ctime>

namespace rapport::store {

using daemon::QueueAttempt;
using daemon::QueueRecord;
using daemon::QueueRow;
using daemon::QueueStatRow;
using daemon::RecipientState;
using daemon::Status;
using daemon::StorageError;

namespace {

std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }

// The columns read_row() reads, in its order (kRowCols in queue_internal.h).
constexpr const char* kRowCols = "id, status, action, attempts, received, next_attempt, last_error, notice, mail_from";
constexpr const char* kRecordCols =
    "id, status, action, attempts, received, next_attempt, last_error, notice, mail_from,"
    " account, helo, client, size, findings, subject, header_from, header_to, message_id, updated,"
    " EXISTS (SELECT 1 FROM queue_event e WHERE e.sender = queue.sender AND e.msg_id = queue.id"
    " AND e.kind = 'released')";

QueueRow read_row(const pg::Result& r, int i) {
    QueueRow q;
    q.id = r.text(i, 0);
    q.status = daemon::parse_status(r.view(i, 1)).value_or(Status::queued);
    q.action = r.text(i, 2);
    q.attempts = static_cast<int>(r.i64(i, 3));
    q.received = r.i64(i, 4);
    q.next_attempt = r.i64(i, 5);
    q.last_error = r.text(i, 6);
    q.notice = r.boolean(i, 7);
    q.mail_from = r.text(i, 8);
    return q;
}

QueueRecord read_record(const pg::Result& r, int i) {
    QueueRecord q;
    q.row = read_row(r, i);
    q.account = r.text(i, 9);
    q.helo = r.text(i, 10);
    q.client = r.text(i, 11);
    q.info.size = static_cast<std::size_t>(r.i64(i, 12));
    q.info.action = q.row.action;
    q.info.findings_json = r.text(i, 13);
    q.info.subject = r.text(i, 14);
    q.info.header_from = r.text(i, 15);
    q.info.header_to = r.text(i, 16);
    q.info.message_id = r.text(i, 17);
    q.updated = r.i64(i, 18);
    q.released = r.boolean(i, 19);
    return q;
}

std::vector<std::string> ids(const pg::Result& r) {
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(r.text(i, 0));
    return out;
}

// The account a message is filed under, as the history files it.
std::string sender_of(const daemon::Envelope& env) {
    return env.account.empty() ? common::lower(env.mail_from) : env.account;
}

} // namespace

PgQueueState::PgQueueState(pg::Pool& pool, std::string node, std::chrono::seconds lease)
    : pool_(pool), node_(std::move(node)), lease_(lease) {}

template <class F> auto PgQueueState::with(F&& f) {
    // Queue::write says which write it was.
    auto fail = [&](const pg::Error& e) {
        std::string why = e.what();
        if (why.rfind("store: ", 0) != 0) why = "store: " + why;
        return StorageError(why, e.disk_full(), e.unavailable());
    };
    std::optional<pg::Lease> l;
    try {
        l.emplace(pool_.acquire()); // failing here, the pool knows already
    } catch (const pg::Error& e) {
        throw fail(e);
    }
    try {
        return f(**l);
    } catch (const pg::Error& e) {
        if (e.unavailable()) pool_.failed(e.what()); // broke in use
        throw fail(e);
    }
}

void PgQueueState::insert(const std::string& id, const daemon::Envelope& env, const daemon::MessageInfo& info,
                          Status status, std::int64_t next_attempt, std::string_view image) {
    std::string sender = sender_of(env);
    with([&](pg::Conn& c) {
        pg::Txn t(c);
        auto r = c.exec("INSERT INTO queue (sender, id, received, mail_from, account, helo, client, size, status, action,"
               " findings, subject, header_from, header_to, message_id, next_attempt, notice, updated, image)"
               " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19)"
               " ON CONFLICT (sender, id) DO UPDATE SET received = excluded.received, mail_from = excluded.mail_from,"
               " account = excluded.account, helo = excluded.helo, client = excluded.client, size = excluded.size,"
               " status = excluded.status, action = excluded.action, findings = excluded.findings,"
               " subject = excluded.subject, header_from = excluded.header_from, header_to = excluded.header_to,"
               " message_id = excluded.message_id, attempts = 0, next_attempt = excluded.next_attempt,"
               " last_error = '', notice = excluded.notice, updated = excluded.updated, claimed_by = NULL,"
               " claim_until = NULL, image = excluded.image"
               // A row a relay or a person has taken up stays as it is: its
               // insert did commit, though this node never heard so (the
               // connection broke on the way back) and routes it again.
               " WHERE queue.attempts = 0 AND queue.claimed_by IS NULL AND queue.status = excluded.status"
               " RETURNING id",
               {sender, id, env.received, env.mail_from, env.account, env.helo, env.client, info.size,
                std::string(daemon::to_string(status)), info.action, info.findings_json, info.subject,
                info.header_from, info.header_to, info.message_id, next_attempt, env.notice, now_s(),
                image.empty() ? pg::Param() : pg::Param::bytes(image)});
        if (r.rows() == 0) {
            t.commit();
            return;
        }
        c.exec("DELETE FROM queue_rcpt WHERE sender = $1 AND msg_id = $2", {sender, id});
        c.exec("INSERT INTO queue_rcpt (sender, msg_id, pos, rcpt, status)"
               " SELECT $1, $2, min(n), r, 'pending' FROM unnest($3::text[]) WITH ORDINALITY AS u(r, n) GROUP BY r",
               {sender, id, pg::array(env.rcpts)});
        if (status == Status::queued) c.notify("rapport_queue", id);
        t.commit();
    });
}

std::optional<QueueRow> PgQueueState::row(const std::string& id) {
    return with([&](pg::Conn& c) -> std::optional<QueueRow> {
        auto r = c.exec(std::string("SELECT ") + kRowCols + " FROM queue WHERE id = $1", {id});
        if (r.rows() == 0) return std::nullopt;
        return read_row(r, 0);
    });
}

std::vector<QueueRow> PgQueueState::rows_with_status(Status st) {
    return with([&](pg::Conn& c) {
        auto r = c.exec(std::string("SELECT ") + kRowCols + " FROM queue WHERE status = $1 ORDER BY received, id",
                        {std::string(daemon::to_string(st))});
        std::vector<QueueRow> out;
        for (int i = 0; i < r.rows(); ++i) out.push_back(read_row(r, i));
        return out;
    });
}

std::vector<RecipientState> PgQueueState::recipients(const std::string& id) {
    return with([&](pg::Conn& c) {
        auto r = c.exec("SELECT rcpt, status, code, reply FROM queue_rcpt WHERE msg_id = $1 ORDER BY pos", {id});
        std::vector<RecipientState> out;
        for (int i = 0; i < r.rows(); ++i)
            out.push_back({r.text(i, 0), r.text(i, 1), static_cast<int>(r.i64(i, 2)), r.text(i, 3)});
        return out;
    });
}

bool PgQueueState::begin_attempt(const std::string& id, int attempt, std::int64_t next_attempt) {
    // One statement, so one transaction: the row is locked by the first node
    // to get here; another node's SKIP LOCKED finds nothing (and after this
    // commits, the claim itself keeps it out until the outcome or the lease).
    // Due only: a node whose schedule is older than another node's last
    // attempt must not cut the backoff short.
    return with([&](pg::Conn& c) {
        return c.exec("UPDATE queue q SET attempts = $2, next_attempt = $3, claimed_by = $4,"
                      " claim_until = now() + make_interval(secs => $5), updated = $6"
                      " FROM (SELECT sender, id FROM queue WHERE id = $1 AND status = 'queued' AND next_attempt <= $6"
                      " AND (claimed_by IS NULL OR claimed_by = $4 OR claim_until < now())"
                      " FOR UPDATE SKIP LOCKED) c"
                      " WHERE q.sender = c.sender AND q.id = c.id RETURNING q.id",
                      {id, attempt, next_attempt, node_, static_cast<std::int64_t>(lease_.count()), now_s()})
                   .rows() > 0;
    });
}

void PgQueueState::record_attempt(const std::string& id, const std::vector<RecipientState>& results,
                                  Status status, int attempts, std::int64_t next_attempt,
                                  const std::string& last_error) {
    std::vector<std::string> rcpts, states, replies;
    std::vector<std::int64_t> codes;
    std::string summary;
    for (const auto& r : results) {
        rcpts.push_back(r.rcpt);
        states.push_back(r.status);
        codes.push_back(r.code);
        replies.push_back(r.reply);
        summary += r.rcpt + "=" + std::to_string(r.code) + " ";
    }
    bool finished = status != Status::queued && status != Status::held && status != Status::captured &&
                    status != Status::expired;
    with([&](pg::Conn& c) {
        pg::Txn t(c);
        // The claim ends with the outcome; a finished message's copy goes,
        // as the local spool copy would.
        auto r = c.exec("UPDATE queue SET status = $2, attempts = $3, next_attempt = $4, last_error = $5, updated = $6,"
                        " claimed_by = NULL, claim_until = NULL, image = CASE WHEN $7 THEN NULL ELSE image END"
                        " WHERE id = $1 RETURNING sender",
                        {id, std::string(daemon::to_string(status)), attempts, next_attempt, last_error, now_s(),
                         finished});
        if (r.rows() == 0) {
            t.commit();
            return;
        }
        std::string sender = r.text(0, 0);
        if (!results.empty())
            c.exec("UPDATE queue_rcpt q SET status = u.status, code = u.code, reply = u.reply"
                   " FROM unnest($3::text[], $4::text[], $5::bigint[], $6::text[]) AS u(rcpt, status, code, reply)"
                   " WHERE q.sender = $1 AND q.msg_id = $2 AND q.rcpt = u.rcpt",
                   {sender, id, pg::array(rcpts), pg::array(states), pg::array(codes), pg::array(replies)});
        c.exec("INSERT INTO queue_attempt (sender, msg_id, time, result) VALUES ($1, $2, $3, $4)",
               {sender, id, now_s(), last_error.empty() ? summary : last_error});
        t.commit();
    });
}

std::vector<std::string> PgQueueState::interrupted() {
    return with([&](pg::Conn& c) {
        return ids(c.exec("SELECT id FROM queue WHERE status = 'queued' AND claimed_by = $1 ORDER BY received, id",
                          {node_}));
    });
}

void PgQueueState::probe_write() {
    with([&](pg::Conn& c) {
        c.exec("INSERT INTO queue_probe (node, time) VALUES ($1, $2)"
               " ON CONFLICT (node) DO UPDATE SET time = excluded.time",
               {node_, now_s()});
    });
}

void PgQueueState::set_status(const std::string& id, Status st) {
    with([&](pg::Conn& c) {
        pg::Txn t(c);
        c.exec("UPDATE queue SET status = $2, updated = $3 WHERE id = $1",
               {id, std::string(daemon::to_string(st)), now_s()});
        if (st == Status::queued) c.notify("rapport_queue", id);
        t.commit();
    });
}

bool PgQueueState::release(const std::string& id) {
    return with([&](pg::Conn& c) {
        pg::Txn t(c);
        bool changed = c.exec("UPDATE queue SET status = 'queued', next_attempt = 0, updated = $2"
                              " WHERE id = $1 AND status = 'held'",
                              {id, now_s()})
                           .affected() > 0;
        if (changed) c.notify("rapport_queue", id); // every node's relay, not only this one's
        t.commit();
        return changed;
    });
}

std::vector<QueueRecord> PgQueueState::list(std::optional<Status> status, std::string_view action, std::size_t limit,
                                            std::optional<std::string_view> account) {
    std::string sql = std::string("SELECT ") + kRecordCols + " FROM queue WHERE NOT notice";
    std::vector<pg::Param> params;
    if (status) {
        params.emplace_back(std::string(daemon::to_string(*status)));
        sql += " AND status = $" + std::to_string(params.size());
    }
    if (!action.empty()) {
        params.emplace_back(action);
        sql += " AND action = $" + std::to_string(params.size());
    }
    if (account) {
        params.emplace_back(*account);
        sql += " AND account = $" + std::to_string(params.size());
    }
    params.emplace_back(limit);
    sql += " ORDER BY received DESC, id DESC LIMIT $" + std::to_string(params.size());
    return with([&](pg::Conn& c) {
        auto r = c.exec(sql, params);
        std::vector<QueueRecord> out;
        for (int i = 0; i < r.rows(); ++i) out.push_back(read_record(r, i));
        return out;
    });
}

std::optional<QueueRecord> PgQueueState::record(const std::string& id) {
    return with([&](pg::Conn& c) -> std::optional<QueueRecord> {
        auto r = c.exec(std::string("SELECT ") + kRecordCols + " FROM queue WHERE id = $1", {id});
        if (r.rows() == 0) return std::nullopt;
        return read_record(r, 0);
    });
}

std::vector<QueueAttempt> PgQueueState::attempts(const std::string& id) {
    return with([&](pg::Conn& c) {
        auto r = c.exec("SELECT time, result FROM queue_attempt WHERE msg_id = $1 ORDER BY seq", {id});
        std::vector<QueueAttempt> out;
        for (int i = 0; i < r.rows(); ++i) out.push_back({r.i64(i, 0), r.text(i, 1)});
        return out;
    });
}

bool PgQueueState::drop(const std::string& id) {
    return with([&](pg::Conn& c) {
        return c.exec("UPDATE queue SET status = 'dropped', updated = $2, image = NULL"
                      " WHERE id = $1 AND status IN ('held', 'expired')",
                      {id, now_s()})
                   .affected() > 0;
    });
}

std::vector<std::string> PgQueueState::expire_held(std::int64_t cutoff) {
    // One statement: when two nodes sweep at once, each row is updated by
    // one of them only (the second waits for the first's row lock, then
    // finds the row no longer held), so each id is returned once.
    return with([&](pg::Conn& c) {
        return ids(c.exec("UPDATE queue SET status = 'expired', updated = $2"
                          " WHERE status = 'held' AND received < $1 RETURNING id",
                          {cutoff, now_s()}));
    });
}

void PgQueueState::add_event(const std::string& id, std::string_view kind) {
    with([&](pg::Conn& c) {
        c.exec("INSERT INTO queue_event (sender, msg_id, kind, time) SELECT sender, id, $2, $3 FROM queue WHERE id = $1",
               {id, kind, now_s()});
    });
}

std::vector<QueueStatRow> PgQueueState::stat_rows() {
    return with([&](pg::Conn& c) {
        auto r = c.exec(
            "SELECT sender, status, action, findings,"
            " EXISTS (SELECT 1 FROM queue_event e WHERE e.sender = q.sender AND e.msg_id = q.id AND e.kind = 'released'),"
            " EXISTS (SELECT 1 FROM queue_event e WHERE e.sender = q.sender AND e.msg_id = q.id AND e.kind = 'confirmed')"
            " FROM queue q WHERE NOT notice");
        std::vector<QueueStatRow> out;
        for (int i = 0; i < r.rows(); ++i)
            out.push_back({r.text(i, 0), r.text(i, 1), r.text(i, 2), r.text(i, 3), r.boolean(i, 4), r.boolean(i, 5)});
        return out;
    });
}

std::vector<std::pair<std::string, std::int64_t>> PgQueueState::status_counts() {
    return with([&](pg::Conn& c) {
        auto r = c.exec("SELECT status, count(*) FROM queue WHERE NOT notice GROUP BY status");
        std::vector<std::pair<std::string, std::int64_t>> out;
        for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.text(i, 0), r.i64(i, 1));
        return out;
    });
}

bool PgQueueState::use_confirm_nonce(const std::string& nonce, const std::string& message_id, std::int64_t now,
                                     std::int64_t forget_before) {
    return with([&](pg::Conn& c) {
        pg::Txn t(c);
        c.exec("DELETE FROM queue_nonce WHERE time < $1", {forget_before});
        bool ok = c.exec("INSERT INTO queue_nonce (nonce, message_id, time) VALUES ($1, $2, $3)"
                         " ON CONFLICT (nonce) DO NOTHING",
                         {nonce, message_id, now})
                      .affected() > 0;
        if (!ok && !message_id.empty())
            ok = c.exec("SELECT 1 FROM queue_nonce WHERE nonce = $1 AND message_id = $2", {nonce, message_id}).rows() > 0;
        t.commit();
        return ok;
    });
}

std::optional<std::string> PgQueueState::image(const std::string& id) {
    return with([&](pg::Conn& c) -> std::optional<std::string> {
        auto r = c.exec("SELECT image FROM queue WHERE id = $1 AND image IS NOT NULL", {id}, true);
        if (r.rows() == 0) return std::nullopt;
        return r.bytes(0, 0);
    });
}

std::vector<std::string> PgQueueState::due(std::int64_t now, std::size_t limit) {
    return with([&](pg::Conn& c) {
        return ids(c.exec("SELECT id FROM queue WHERE status = 'queued' AND next_attempt <= $1"
                          " AND (claimed_by IS NULL OR claim_until < now()) ORDER BY next_attempt, id LIMIT $2",
                          {now, limit}));
    });
}

} // namespace rapport::store
