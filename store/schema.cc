// schema.cc - the PostgreSQL schema and its migrations (see schema.h).
//
// Every table's key starts with the account it belongs to (the sender or
// job club member, as the history and the ledger name it), so a sharded
// PostgreSQL (Citus: create_distributed_table(..., 'sender')) keeps one
// account's rows, and each query about it, on one node. The exceptions
// are small reference data read by everyone (the allow-list, settings,
// the schema version) and the confirmation nonces, keyed by the nonce
// (docs/multi-node.md says how each is distributed). Text keys compare in
// the "C" collation: byte order, the same on every server whatever its
// locale, and the cheapest.

#include "store/schema.h"

#include <string>
#include <vector>

namespace rapport::store {
namespace {

struct Step {
    int version;
    const char* sql;
};

// Each step is applied once, in order, in the same transaction as the
// version it sets. Never edit a step that has shipped: add one.
const std::vector<Step>& steps() {
    static const std::vector<Step> s = {
        {1, R"sql(
CREATE TABLE rapport_settings (name text COLLATE "C" PRIMARY KEY, value text NOT NULL);

-- The sending history (policies/history.h): one row per message, its
-- MinHash signature, template family, band keys and recipients.
CREATE SEQUENCE history_msg_id;
CREATE TABLE history_msg (
  sender text COLLATE "C" NOT NULL,
  id bigint NOT NULL,
  time bigint NOT NULL,
  sig bytea,
  tid bigint,
  keys bigint[],
  rcpts text[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (sender, id));
CREATE INDEX history_msg_family ON history_msg (sender, tid, time) WHERE tid IS NOT NULL;
CREATE INDEX history_msg_time ON history_msg (time);
CREATE TABLE history_band (
  sender text COLLATE "C" NOT NULL,
  key bigint NOT NULL,
  msg bigint NOT NULL,
  PRIMARY KEY (sender, key, msg));
CREATE TABLE history_family_rcpt (
  sender text COLLATE "C" NOT NULL,
  tid bigint NOT NULL,
  addr text COLLATE "C" NOT NULL,
  last bigint NOT NULL,
  PRIMARY KEY (sender, tid, addr));
CREATE INDEX history_family_rcpt_last ON history_family_rcpt (last);
CREATE TABLE history_org (
  sender text COLLATE "C" NOT NULL,
  org text COLLATE "C" NOT NULL,
  last bigint NOT NULL,
  PRIMARY KEY (sender, org));
CREATE INDEX history_org_last ON history_org (last);
CREATE TABLE history_allow (
  type text COLLATE "C" NOT NULL,
  value text COLLATE "C" NOT NULL,
  PRIMARY KEY (type, value));

-- One message recorded in one round trip: the row, its band keys, its
-- family's recipients and the organisations written to. p_tid NULL: the
-- message starts a family of its own.
CREATE FUNCTION history_record(p_sender text, p_time bigint, p_sig bytea, p_tid bigint, p_keys bigint[],
                               p_rcpts text[], p_orgs text[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  v_id bigint := nextval('history_msg_id');
  v_tid bigint := CASE WHEN p_sig IS NULL THEN NULL ELSE coalesce(p_tid, v_id) END;
BEGIN
  INSERT INTO history_msg (sender, id, time, sig, tid, keys, rcpts)
    VALUES (p_sender, v_id, p_time, p_sig, v_tid, p_keys, p_rcpts);
  IF p_sig IS NOT NULL THEN
    INSERT INTO history_band (sender, key, msg)
      SELECT DISTINCT p_sender, k, v_id FROM unnest(p_keys) AS k;
    INSERT INTO history_family_rcpt AS f (sender, tid, addr, last)
      SELECT DISTINCT p_sender, v_tid, a, p_time FROM unnest(p_rcpts) AS a
      ON CONFLICT (sender, tid, addr) DO UPDATE SET last = greatest(f.last, excluded.last);
  END IF;
  INSERT INTO history_org AS o (sender, org, last)
    SELECT DISTINCT p_sender, g, p_time FROM unnest(p_orgs) AS g
    ON CONFLICT (sender, org) DO UPDATE SET last = greatest(o.last, excluded.last);
  RETURN v_id;
END $$;

-- Forgets up to p_limit messages sent before p_before, with their band
-- rows; a family's recipient and an organisation go when their latest
-- message is before p_before (every message before it goes).
CREATE FUNCTION history_prune(p_before bigint, p_limit int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE n int;
BEGIN
  WITH old AS (
    DELETE FROM history_msg m USING (SELECT sender, id FROM history_msg WHERE time < p_before LIMIT p_limit) o
    WHERE m.sender = o.sender AND m.id = o.id RETURNING m.sender, m.id, m.keys),
  bands AS (
    DELETE FROM history_band b USING old
    WHERE b.sender = old.sender AND b.key = ANY (old.keys) AND b.msg = old.id)
  SELECT count(*) INTO n FROM old;
  DELETE FROM history_family_rcpt WHERE last < p_before;
  DELETE FROM history_org WHERE last < p_before;
  RETURN n;
END $$;

)sql"},
        {2, R"sql(
-- Job club members (daemon/lib/members.h), keyed by the member's name:
-- the account their mail is filed under in the history.
CREATE TABLE members (
  name text COLLATE "C" PRIMARY KEY,
  hash text NOT NULL,
  grp text NOT NULL DEFAULT '',
  role text NOT NULL DEFAULT 'member',
  created bigint NOT NULL,
  token_generation bigint NOT NULL DEFAULT 0,
  lang text NOT NULL DEFAULT 'auto');
)sql"},
        {3, R"sql(
-- The queue (daemon/lib/queue_state.h, store/pg_queue.h): one row per
-- accepted message with its spool image while it may still be sent or
-- shown, its recipients, the relay's attempts, people's decisions. Keyed
-- by the sender (the job club member, else the lower-case envelope
-- sender) like the history; message ids are unique on their own too
-- (Queue::new_id), and calls that know only the id use queue_id.
CREATE TABLE queue (
  sender text COLLATE "C" NOT NULL,
  id text COLLATE "C" NOT NULL,
  received bigint NOT NULL,
  mail_from text NOT NULL,
  account text NOT NULL,
  helo text NOT NULL,
  client text NOT NULL,
  size bigint NOT NULL,
  status text NOT NULL,
  action text NOT NULL,
  findings text NOT NULL,
  subject text NOT NULL,
  header_from text NOT NULL,
  header_to text NOT NULL,
  message_id text NOT NULL,
  attempts int NOT NULL DEFAULT 0,
  next_attempt bigint NOT NULL DEFAULT 0,
  last_error text NOT NULL DEFAULT '',
  notice boolean NOT NULL DEFAULT false,
  updated bigint NOT NULL,
  claimed_by text,              -- the node sending it now ([store] node), until claim_until
  claim_until timestamptz,
  image bytea,                  -- the spool image; NULL once the message is finished
  PRIMARY KEY (sender, id));
CREATE INDEX queue_id ON queue (id);
CREATE INDEX queue_due ON queue (next_attempt) WHERE status = 'queued';
CREATE INDEX queue_status ON queue (status, received);
CREATE TABLE queue_rcpt (
  sender text COLLATE "C" NOT NULL,
  msg_id text COLLATE "C" NOT NULL,
  pos int NOT NULL,
  rcpt text NOT NULL,
  status text NOT NULL,
  code int NOT NULL DEFAULT 0,
  reply text NOT NULL DEFAULT '',
  PRIMARY KEY (sender, msg_id, rcpt));
CREATE INDEX queue_rcpt_msg ON queue_rcpt (msg_id);
CREATE TABLE queue_attempt (
  sender text COLLATE "C" NOT NULL,
  msg_id text COLLATE "C" NOT NULL,
  seq bigserial,
  time bigint NOT NULL,
  result text NOT NULL,
  PRIMARY KEY (sender, msg_id, seq));
CREATE INDEX queue_attempt_msg ON queue_attempt (msg_id);
CREATE TABLE queue_event (
  sender text COLLATE "C" NOT NULL,
  msg_id text COLLATE "C" NOT NULL,
  seq bigserial,
  kind text NOT NULL,
  time bigint NOT NULL,
  PRIMARY KEY (sender, msg_id, seq));
CREATE INDEX queue_event_kind ON queue_event (sender, msg_id, kind);
-- v1 X-Rapport-Confirm nonces (daemon/lib/hold.h): one message each.
CREATE TABLE queue_nonce (
  nonce text COLLATE "C" PRIMARY KEY,
  message_id text NOT NULL,
  time bigint NOT NULL);
CREATE INDEX queue_nonce_time ON queue_nonce (time);
-- Queue::probe_write(): one row per node.
CREATE TABLE queue_probe (node text COLLATE "C" PRIMARY KEY, time bigint NOT NULL);
)sql"},
        {4, R"sql(
-- The times travel in the primary keys of the two tables a check reads by
-- sender: organisations() and count_similar() then read index pages only
-- (a sender's rows side by side) instead of one heap page per row - a
-- sender's rows are spread over the heap in the order they were last
-- written: a sender with 1000 letters in the window cost organisations()
-- ~600 heap pages (BENCHMARKS.md, "Template memory on PostgreSQL").
ALTER TABLE history_org DROP CONSTRAINT history_org_pkey, ADD PRIMARY KEY (sender, org) INCLUDE (last);
ALTER TABLE history_family_rcpt DROP CONSTRAINT history_family_rcpt_pkey,
  ADD PRIMARY KEY (sender, tid, addr) INCLUDE (last);

-- history_prune as in step 1, except that the old messages are deleted
-- one by one by their keys. Deleted in one statement joined on (sender,
-- id), the planner counted on up to p_limit rows and hashed the whole
-- table: 21 ms per prune at 100k messages, nearly always to delete one
-- message. Each delete here is a primary-key lookup on one account's rows
-- (one shard with Citus); a message another node deleted meanwhile is
-- not counted.
CREATE OR REPLACE FUNCTION history_prune(p_before bigint, p_limit int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
  n int := 0;
  k int;
  r record;
BEGIN
  FOR r IN SELECT sender, id, keys FROM history_msg WHERE time < p_before LIMIT p_limit LOOP
    DELETE FROM history_msg WHERE sender = r.sender AND id = r.id;
    GET DIAGNOSTICS k = ROW_COUNT;
    IF k > 0 THEN
      DELETE FROM history_band WHERE sender = r.sender AND key = ANY (r.keys) AND msg = r.id;
      n := n + 1;
    END IF;
  END LOOP;
  DELETE FROM history_family_rcpt WHERE last < p_before;
  DELETE FROM history_org WHERE last < p_before;
  RETURN n;
END $$;
)sql"},
        {5, R"sql(
-- The reply ledger (policies/outcomes/ledger.h, ledger_rows.h): one for
-- every node. Each table is keyed by the account first (the sender or job
-- club member, as in the history), except the received-message keys
-- (keyed by the key itself: a message is received before it is known
-- whose it is), the sender's own addresses and the inbox readers' places.
CREATE TABLE ledger_outgoing (
  account text COLLATE "C" NOT NULL,
  id text COLLATE "C" NOT NULL,
  message_id text COLLATE "C" NOT NULL DEFAULT '',
  refs text NOT NULL DEFAULT '',
  subject text NOT NULL DEFAULT '',
  fate text NOT NULL,
  time bigint NOT NULL,
  application boolean NOT NULL,
  class text NOT NULL DEFAULT '',
  rules text NOT NULL DEFAULT '',
  PRIMARY KEY (account, id));
CREATE INDEX ledger_outgoing_id ON ledger_outgoing (id);
CREATE INDEX ledger_outgoing_message_id ON ledger_outgoing (message_id) WHERE message_id <> '';
CREATE INDEX ledger_outgoing_time ON ledger_outgoing (application, time);
CREATE TABLE ledger_rcpt (
  account text COLLATE "C" NOT NULL,
  outgoing_id text COLLATE "C" NOT NULL,
  pos int NOT NULL,
  address text COLLATE "C" NOT NULL,
  org text COLLATE "C" NOT NULL DEFAULT '',
  org_keys text NOT NULL DEFAULT '',
  bounced boolean NOT NULL DEFAULT false,
  name text NOT NULL DEFAULT '',
  PRIMARY KEY (account, outgoing_id, address));
CREATE INDEX ledger_rcpt_address ON ledger_rcpt (address);
CREATE INDEX ledger_rcpt_org ON ledger_rcpt (org) WHERE org <> '';
CREATE TABLE ledger_org_key (
  account text COLLATE "C" NOT NULL,
  key text COLLATE "C" NOT NULL,
  outgoing_id text COLLATE "C" NOT NULL,
  PRIMARY KEY (account, key, outgoing_id));
CREATE INDEX ledger_org_key_key ON ledger_org_key (key);
CREATE TABLE ledger_answer (
  account text COLLATE "C" NOT NULL,
  outgoing_id text COLLATE "C" NOT NULL,
  incoming text COLLATE "C" NOT NULL,
  kind text NOT NULL,
  match text NOT NULL,
  time bigint NOT NULL,
  PRIMARY KEY (account, outgoing_id, incoming));
-- A received message counts once, whichever node read it (its IMAP reader
-- or the add-on through its API): the key's uniqueness decides.
CREATE TABLE ledger_seen (
  key text COLLATE "C" PRIMARY KEY,
  time bigint NOT NULL);
CREATE INDEX ledger_seen_time ON ledger_seen (time);
CREATE TABLE ledger_own_address (address text COLLATE "C" PRIMARY KEY);
-- Where the inbox reader got to, by inbox (user@host:port) and folder.
CREATE TABLE ledger_inbox_folder (
  inbox text COLLATE "C" NOT NULL,
  folder text COLLATE "C" NOT NULL,
  uidvalidity bigint NOT NULL,
  last_uid bigint NOT NULL,
  modseq bigint NOT NULL,
  read bigint NOT NULL,
  PRIMARY KEY (inbox, folder));
)sql"},
    };
    return s;
}

// Two nodes starting together must not both migrate: the first takes this
// lock for its transaction, the second waits and then finds nothing to do.
constexpr const char* kLockKey = "7485233617211729";

} // namespace

int schema_version() { return steps().back().version; }

int migrate(pg::Conn& c, const std::function<void(const std::string&)>& log) {
    pg::Txn t(c);
    c.exec(std::string("SELECT pg_advisory_xact_lock(") + kLockKey + ")");
    c.run("CREATE TABLE IF NOT EXISTS rapport_schema (version int NOT NULL)");
    auto r = c.exec("SELECT max(version) FROM rapport_schema");
    int have = static_cast<int>(r.i64(0, 0));
    if (have > schema_version())
        throw std::runtime_error("store: the database's schema " + std::to_string(have) +
                                 " is newer than this rapportd knows (" + std::to_string(schema_version()) +
                                 "); upgrade rapportd on this node");
    for (const auto& s : steps()) {
        if (s.version <= have) continue;
        c.run(s.sql);
        c.exec("DELETE FROM rapport_schema");
        c.exec("INSERT INTO rapport_schema (version) VALUES ($1)", {s.version});
        if (log) log("store: schema " + std::to_string(s.version) + " applied");
    }
    t.commit();
    return have;
}

std::string shared_secret(pg::Conn& c, const std::string& name, const std::string& mine) {
    c.exec("INSERT INTO rapport_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", {name, mine});
    return c.exec("SELECT value FROM rapport_settings WHERE name = $1", {name}).text(0, 0);
}

} // namespace rapport::store
