// background.cc - see background.h.

#include "daemon/lib/background.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace rapport::daemon {

void lower_this_threads_priority() {
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
}

} // namespace rapport::daemon
