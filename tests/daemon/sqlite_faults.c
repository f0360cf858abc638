/* sqlite_faults.c - an SQLite VFS that fails chosen file operations, for tests.
 *
 * It wraps the default VFS ("unix") and passes every call through, except
 * those a control file says to fail. Two ways in:
 *
 *   LD_PRELOAD=librapport_sqlite_faults.so RAPPORT_SQLITE_FAULTS=/tmp/ctl rapportd ...
 *       (the library registers itself as the default VFS when it is loaded;
 *       rapportd itself is the unchanged binary)
 *   rapport_sqlite_faults_install("/tmp/ctl");   (in-process, unit tests)
 *
 * The control file is read again whenever it changes (size, mtime, inode);
 * a missing or empty file means no faults. One rule per line:
 *
 *   FILE OP AFTER ERROR        e.g.  queue.db write 3 full
 *
 *   FILE   a substring of the file's path ("queue.db" also matches
 *          queue.db-wal and queue.db-journal)
 *   OP     write (also truncate) | sync | read | lock | any
 *   AFTER  this many matching calls still succeed, counted from when the
 *          rule was read; every later one fails (a disk that fills up stays
 *          full until the file changes again)
 *   ERROR  full (SQLITE_FULL, what the unix VFS reports for ENOSPC) or
 *          ioerr (the operation's SQLITE_IOERR_* code)
 *
 * Lines starting with '#' are comments. Each failure adds one to the count
 * printed by rapport_sqlite_faults_failed() and, for the preloaded library,
 * the file named by RAPPORT_SQLITE_FAULTS_LOG (one line per failure) so a
 * test can tell that a fault really happened.
 *
 * Only for tests: it stats the control file on every call. */

#include <sqlite3.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum op { OP_WRITE, OP_SYNC, OP_READ, OP_LOCK, OP_ANY };

struct rule {
    char file[128];
    enum op op;
    long after;  /* calls left before failing */
    int full;    /* SQLITE_FULL instead of an IOERR */
};

#define MAX_RULES 16

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char control_path[4096];
static const char* fail_log;
static struct stat control_seen;
static int have_seen;
static struct rule rules[MAX_RULES];
static int nrules;
static long failures;
static sqlite3_vfs* real_vfs;
static sqlite3_vfs fault_vfs;

typedef struct {
    sqlite3_file base;
    sqlite3_file* real; /* follows this struct in the same allocation */
    char path[512];
} fault_file;

static void load_rules(void) {
    nrules = 0;
    FILE* f = fopen(control_path, "r");
    if (!f) return;
    char line[512];
    while (nrules < MAX_RULES && fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        char file[128], op[16], err[16];
        long after;
        if (sscanf(line, "%127s %15s %ld %15s", file, op, &after, err) != 4) continue;
        struct rule* r = &rules[nrules];
        snprintf(r->file, sizeof r->file, "%s", file);
        r->op = strcmp(op, "write") == 0 ? OP_WRITE
                : strcmp(op, "sync") == 0 ? OP_SYNC
                : strcmp(op, "read") == 0 ? OP_READ
                : strcmp(op, "lock") == 0 ? OP_LOCK
                                          : OP_ANY;
        r->after = after;
        r->full = strcmp(err, "full") == 0;
        ++nrules;
    }
    fclose(f);
}

/* 0 to go ahead, else the error code to return. */
static int fault(const fault_file* p, enum op op, int ioerr) {
    int rc = 0;
    pthread_mutex_lock(&mu);
    struct stat st;
    int exists = stat(control_path, &st) == 0;
    if (!exists) {
        nrules = 0;
        have_seen = 0;
    } else if (!have_seen || st.st_ino != control_seen.st_ino || st.st_size != control_seen.st_size ||
               st.st_mtim.tv_sec != control_seen.st_mtim.tv_sec ||
               st.st_mtim.tv_nsec != control_seen.st_mtim.tv_nsec) {
        control_seen = st;
        have_seen = 1;
        load_rules();
    }
    for (int i = 0; i < nrules && !rc; ++i) {
        struct rule* r = &rules[i];
        if (r->op != OP_ANY && r->op != op) continue;
        if (!strstr(p->path, r->file)) continue;
        if (r->after > 0) {
            --r->after;
            continue;
        }
        rc = r->full && op == OP_WRITE ? SQLITE_FULL : ioerr;
        ++failures;
        if (fail_log) {
            FILE* f = fopen(fail_log, "a");
            if (f) {
                static const char* names[] = {"write", "sync", "read", "lock", "any"};
                fprintf(f, "%s %s %d\n", p->path, names[op], rc);
                fclose(f);
            }
        }
    }
    pthread_mutex_unlock(&mu);
    return rc;
}

static int f_close(sqlite3_file* f) {
    fault_file* p = (fault_file*)f;
    int rc = p->real->pMethods ? p->real->pMethods->xClose(p->real) : SQLITE_OK;
    p->base.pMethods = NULL;
    return rc;
}
static int f_read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
    fault_file* p = (fault_file*)f;
    int rc = fault(p, OP_READ, SQLITE_IOERR_READ);
    return rc ? rc : p->real->pMethods->xRead(p->real, buf, n, off);
}
static int f_write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
    fault_file* p = (fault_file*)f;
    int rc = fault(p, OP_WRITE, SQLITE_IOERR_WRITE);
    return rc ? rc : p->real->pMethods->xWrite(p->real, buf, n, off);
}
static int f_truncate(sqlite3_file* f, sqlite3_int64 size) {
    fault_file* p = (fault_file*)f;
    int rc = fault(p, OP_WRITE, SQLITE_IOERR_TRUNCATE);
    return rc ? rc : p->real->pMethods->xTruncate(p->real, size);
}
static int f_sync(sqlite3_file* f, int flags) {
    fault_file* p = (fault_file*)f;
    int rc = fault(p, OP_SYNC, SQLITE_IOERR_FSYNC);
    return rc ? rc : p->real->pMethods->xSync(p->real, flags);
}
static int f_file_size(sqlite3_file* f, sqlite3_int64* size) {
    fault_file* p = (fault_file*)f;
    return p->real->pMethods->xFileSize(p->real, size);
}
static int f_lock(sqlite3_file* f, int level) {
    fault_file* p = (fault_file*)f;
    int rc = fault(p, OP_LOCK, SQLITE_IOERR_LOCK);
    return rc ? rc : p->real->pMethods->xLock(p->real, level);
}
static int f_unlock(sqlite3_file* f, int level) {
    fault_file* p = (fault_file*)f;
    return p->real->pMethods->xUnlock(p->real, level);
}
static int f_check_reserved(sqlite3_file* f, int* out) {
    fault_file* p = (fault_file*)f;
    return p->real->pMethods->xCheckReservedLock(p->real, out);
}
static int f_file_control(sqlite3_file* f, int op, void* arg) {
    fault_file* p = (fault_file*)f;
    return p->real->pMethods->xFileControl(p->real, op, arg);
}
static int f_sector_size(sqlite3_file* f) {
    fault_file* p = (fault_file*)f;
    return p->real->pMethods->xSectorSize(p->real);
}
static int f_device_characteristics(sqlite3_file* f) {
    fault_file* p = (fault_file*)f;
    return p->real->pMethods->xDeviceCharacteristics(p->real);
}
static int f_shm_map(sqlite3_file* f, int pg, int pgsz, int extend, void volatile** pp) {
    fault_file* p = (fault_file*)f;
    return p->real->pMethods->xShmMap(p->real, pg, pgsz, extend, pp);
}
static int f_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
    fault_file* p = (fault_file*)f;
    return p->real->pMethods->xShmLock(p->real, offset, n, flags);
}
static void f_shm_barrier(sqlite3_file* f) {
    fault_file* p = (fault_file*)f;
    p->real->pMethods->xShmBarrier(p->real);
}
static int f_shm_unmap(sqlite3_file* f, int del) {
    fault_file* p = (fault_file*)f;
    return p->real->pMethods->xShmUnmap(p->real, del);
}
static int f_fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** pp) {
    fault_file* p = (fault_file*)f;
    return p->real->pMethods->xFetch(p->real, off, n, pp);
}
static int f_unfetch(sqlite3_file* f, sqlite3_int64 off, void* ptr) {
    fault_file* p = (fault_file*)f;
    return p->real->pMethods->xUnfetch(p->real, off, ptr);
}

static const sqlite3_io_methods fault_methods = {
    3,           f_close,        f_read,         f_write,         f_truncate,
    f_sync,      f_file_size,    f_lock,         f_unlock,        f_check_reserved,
    f_file_control, f_sector_size, f_device_characteristics, f_shm_map, f_shm_lock,
    f_shm_barrier, f_shm_unmap,  f_fetch,        f_unfetch,
};

static int v_open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
    (void)vfs;
    fault_file* p = (fault_file*)f;
    memset(p, 0, sizeof *p);
    p->real = (sqlite3_file*)(p + 1);
    snprintf(p->path, sizeof p->path, "%s", name ? name : "");
    int rc = real_vfs->xOpen(real_vfs, name, p->real, flags, out_flags);
    p->base.pMethods = p->real->pMethods ? &fault_methods : NULL;
    return rc;
}

int rapport_sqlite_faults_install(const char* control) {
    if (!control || !*control) return SQLITE_MISUSE;
    snprintf(control_path, sizeof control_path, "%s", control);
    if (real_vfs) return SQLITE_OK; /* already the default */
    int rc = sqlite3_initialize();
    if (rc != SQLITE_OK) return rc;
    real_vfs = sqlite3_vfs_find(NULL);
    if (!real_vfs) return SQLITE_ERROR;
    fault_vfs = *real_vfs;
    fault_vfs.iVersion = real_vfs->iVersion < 3 ? real_vfs->iVersion : 3;
    fault_vfs.zName = "rapport-faults";
    fault_vfs.szOsFile = (int)sizeof(fault_file) + real_vfs->szOsFile;
    fault_vfs.pNext = NULL;
    fault_vfs.xOpen = v_open;
    return sqlite3_vfs_register(&fault_vfs, 1);
}

long rapport_sqlite_faults_failed(void) {
    pthread_mutex_lock(&mu);
    long n = failures;
    pthread_mutex_unlock(&mu);
    return n;
}

/* Preloaded: install when the environment names a control file. */
__attribute__((constructor)) static void preload_install(void) {
    const char* control = getenv("RAPPORT_SQLITE_FAULTS");
    fail_log = getenv("RAPPORT_SQLITE_FAULTS_LOG");
    if (control && *control) {
        int rc = rapport_sqlite_faults_install(control);
        if (rc != SQLITE_OK) fprintf(stderr, "sqlite_faults: cannot install (SQLite error %d)\n", rc);
    }
}
