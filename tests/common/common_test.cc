// The helpers below every layer: ASCII strings, secret files, SQLite errors.

#include "common/files.h"
#include "common/sqlite.h"
#include "common/strings.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace common = rapport::common;
namespace sqlite = rapport::sqlite;

namespace {

std::string temp_dir() {
    char tmpl[] = "/tmp/rapport-common-XXXXXX";
    const char* d = ::mkdtemp(tmpl);
    EXPECT_NE(d, nullptr);
    return d ? d : "/tmp";
}

unsigned mode_of(const std::string& path) {
    struct stat st{};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
}

TEST(Strings, AsciiCaseAndSpace) {
    EXPECT_EQ(common::lower("Jobs@Example.ORG"), "jobs@example.org");
    EXPECT_EQ(common::lower("Ünïcode"), "Ünïcode"); // bytes above ASCII are left alone
    EXPECT_TRUE(common::iequals("Subject", "SUBJECT"));
    EXPECT_FALSE(common::iequals("Subject", "Subjects"));
    EXPECT_EQ(common::trim(" \t value \r\n"), "value");
    EXPECT_EQ(common::trim(" \r\n"), "");
    EXPECT_TRUE(common::starts_with_ci("rcpt to:<a@b>", "RCPT TO:"));
    EXPECT_FALSE(common::starts_with_ci("RCPT", "RCPT TO:"));
}

TEST(Strings, HexIsTwoLowerCaseDigitsPerByte) {
    EXPECT_EQ(common::hex(std::string_view("\x00\x01\xab\xff", 4)), "0001abff");
    EXPECT_EQ(common::hex(""), "");
}

TEST(Strings, SplitKeepsTheNonEmptyFields) {
    EXPECT_EQ(common::split("a b  c ", ' '), (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(common::split(" <x@y> ", ' '), std::vector<std::string>{"<x@y>"});
    EXPECT_TRUE(common::split("", '\n').empty());
    EXPECT_TRUE(common::split("\n\n", '\n').empty());
}

TEST(Files, MkdirsMakesParentsAndAcceptsExisting) {
    std::string d = temp_dir() + "/a/b/c";
    common::mkdirs(d);
    EXPECT_EQ(mode_of(d), 0700u);
    common::mkdirs(d); // again: fine
    EXPECT_THROW(common::mkdirs("/proc/rapport-cannot/x"), std::runtime_error);
}

TEST(Files, SecretIsWrittenPrivateAndReadBack) {
    std::string d = temp_dir();
    std::string path = d + "/token";
    common::write_secret(path, "s3cret\n");
    EXPECT_EQ(mode_of(path), 0600u);
    EXPECT_EQ(common::read_secret(path), "s3cret\n");
    EXPECT_FALSE(common::readable_by_others(path));
    EXPECT_EQ(::access((path + ".tmp").c_str(), F_OK), -1); // no temporary left behind
}

TEST(Files, SecretReadableByOthersIsRefusedWithThePathAndTheFix) {
    std::string path = temp_dir() + "/password";
    std::ofstream(path) << "pw\n";
    ::chmod(path.c_str(), 0644);
    EXPECT_TRUE(common::readable_by_others(path));
    try {
        common::read_secret(path);
        FAIL() << "read a file others can read";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()), path + " is readable by others (chmod 600 it)");
    }
    EXPECT_EQ(common::read_secret(path, false), "pw\n"); // when the caller only warns
}

TEST(Files, MissingSecretSaysSo) {
    std::string path = temp_dir() + "/nothing";
    try {
        common::read_secret(path);
        FAIL();
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()), path + " is missing");
    }
}

class Sqlite : public ::testing::Test {
protected:
    void SetUp() override {
        db = sqlite::open(temp_dir() + "/t.db");
        sqlite::exec(db, "CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER, b BLOB)");
    }
    void TearDown() override { sqlite3_close(db); }
    std::int64_t count() {
        sqlite::Stmt s(db, "SELECT COUNT(*) FROM t");
        return s.step() ? s.i64(0) : -1;
    }
    sqlite3* db = nullptr;
};

TEST_F(Sqlite, BindsAndReadsBack) {
    sqlite::Stmt(db, "INSERT INTO t VALUES (?1, ?2, ?3)").bind(1, "a").bind(2, std::int64_t{42}).bind_blob(3, std::string("\0x", 2)).run();
    sqlite::Stmt(db, "INSERT INTO t VALUES (?1, ?2, ?3)").bind(1, "b").bind_null(2).bind_null(3).run();
    sqlite::Stmt s(db, "SELECT k, v, b FROM t ORDER BY k");
    ASSERT_TRUE(s.step());
    EXPECT_EQ(s.text(0), "a");
    EXPECT_EQ(s.i64(1), 42);
    EXPECT_EQ(s.blob_view(2), std::string_view("\0x", 2));
    ASSERT_TRUE(s.step());
    EXPECT_TRUE(s.is_null(1));
    EXPECT_FALSE(s.step());
}

TEST_F(Sqlite, ErrorsCarryTheCode) {
    sqlite::Stmt ins(db, "INSERT INTO t (k) VALUES (?1)", true);
    ins.bind(1, "a").run();
    try {
        ins.bind(1, "a").run();
        FAIL() << "inserted a duplicate key";
    } catch (const sqlite::Error& e) {
        EXPECT_EQ(e.code & 0xff, SQLITE_CONSTRAINT);
        EXPECT_FALSE(e.disk_full());
        EXPECT_NE(std::string(e.what()).find("SQLITE_CONSTRAINT"), std::string::npos) << e.what();
    }
    ins.bind(1, "b").run(); // the kept statement was reset by the failure and works again
    EXPECT_EQ(count(), 2);
    EXPECT_THROW(sqlite::Stmt(db, "SELEKT nonsense"), sqlite::Error);
}

TEST_F(Sqlite, TransactionRollsBackUnlessCommitted) {
    {
        sqlite::Transaction t(db);
        sqlite::Stmt(db, "INSERT INTO t (k) VALUES ('gone')").run();
    }
    EXPECT_EQ(count(), 0);
    try {
        sqlite::Transaction t(db);
        sqlite::Stmt(db, "INSERT INTO t (k) VALUES ('x')").run();
        sqlite::Stmt(db, "INSERT INTO t (k) VALUES ('x')").run();
        t.commit();
    } catch (const sqlite::Error& e) {
        EXPECT_EQ(e.code & 0xff, SQLITE_CONSTRAINT); // the real error, not the rollback's
    }
    EXPECT_EQ(count(), 0);
    {
        sqlite::Transaction t(db);
        sqlite::Stmt(db, "INSERT INTO t (k) VALUES ('kept')").run();
        t.commit();
    }
    EXPECT_EQ(count(), 1);
}

TEST_F(Sqlite, TransactionWithKeptStatementsCommitsAndRollsBackAlike) {
    sqlite::Stmt begin(db, "BEGIN IMMEDIATE", true), commit(db, "COMMIT", true);
    for (int round = 0; round < 2; ++round) { // kept statements serve again
        {
            sqlite::Transaction t(db, begin, commit);
            sqlite::Stmt(db, "INSERT INTO t (k) VALUES ('gone')").run();
        }
        EXPECT_EQ(count(), round);
        {
            sqlite::Transaction t(db, begin, commit);
            sqlite::Stmt(db, ("INSERT INTO t (k) VALUES ('kept" + std::to_string(round) + "')").c_str()).run();
            t.commit();
        }
        EXPECT_EQ(count(), round + 1);
    }
}

TEST(SqliteOpen, UnopenableSaysWhere) {
    try {
        sqlite3_close(sqlite::open("/proc/rapport-no/db.sqlite"));
        FAIL();
    } catch (const sqlite::Error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot open /proc/rapport-no/db.sqlite"), std::string::npos) << e.what();
    }
}

} // namespace
