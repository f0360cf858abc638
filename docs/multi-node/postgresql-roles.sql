-- On db1, once: sudo -u postgres psql -f postgresql-roles.sql
-- (docs/multi-node.md). The two roles and the database; psql asks for each
-- password (twice) and sends it hashed, so it appears in no log or shell
-- history. tests/store/failover_e2e.py runs this file on its primary.

-- db1 waits for db2 on every commit (synchronous_standby_names), and db2
-- does not exist yet: these commits wait for db1 alone.
SET synchronous_commit = local;

CREATE ROLE rapport LOGIN;                 -- the nodes; its password goes in each node's /etc/rapport/store.secret
CREATE DATABASE rapport OWNER rapport;     -- rapportd creates its tables on first start
CREATE ROLE replicator REPLICATION LOGIN;  -- db2 streams with it; its password goes in ~postgres/.pgpass on db2 (and db1)
\password rapport
\password replicator
