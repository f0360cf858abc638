#include "policies/notation.h"

#include "common/strings.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace rapport::policies {
namespace {

using common::iequals;
using common::trim;

bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Commands people paste into mail, first on a command line.
constexpr std::string_view kCommands[] = {
    "git", "make", "cmake", "ninja", "pip", "pip3", "pipx", "python", "python3", "py", "npm", "npx", "node",
    "yarn", "pnpm", "cargo", "rustc", "go", "gcc", "g++", "clang", "java", "mvn", "gradle", "docker",
    "podman", "kubectl", "helm", "terraform", "ansible", "ansible-playbook", "curl", "wget", "ssh", "scp",
    "rsync", "sudo", "su", "apt", "apt-get", "dpkg", "dnf", "yum", "rpm", "brew", "snap", "flatpak", "cd",
    "ls", "cat", "less", "grep", "rg", "sed", "awk", "find", "xargs", "export", "set", "unset", "env",
    "source", "systemctl", "journalctl", "service", "crontab", "tar", "zip", "unzip", "gzip", "chmod",
    "chown", "mkdir", "rmdir", "rm", "cp", "mv", "ln", "touch", "echo", "printf", "kill", "pkill", "ps",
    "top", "htop", "df", "du", "mount", "umount", "ping", "dig", "nslookup", "traceroute", "ip",
    "ifconfig", "netstat", "ss", "psql", "mysql", "sqlite3", "redis-cli", "openssl", "gpg", "twine",
    "pytest", "tox", "bundle", "gem", "rake", "rails", "php", "composer", "dotnet", "powershell", "cmd",
    "vim", "nano", "emacs", "tmux", "screen", "bash", "sh", "zsh", "ffmpeg", "convert", "swaks", "telnet",
    "nc", "head", "tail", "sort", "uniq", "wc", "diff", "patch", "man", "which", "whoami", "chgrp",
};

constexpr std::string_view kLogLevels[] = {"INFO", "WARN", "WARNING", "ERROR", "DEBUG", "TRACE",
                                           "FATAL", "CRITICAL", "NOTICE", "ERR", "CRIT", "EMERG"};

constexpr std::string_view kUsage[] = {"usage:", "Usage:", "USAGE:", "SYNOPSIS", "Verwendung:", "Aufruf:",
                                       "Uso:", "Utilisation :", "Utilisation:", "Użycie:"};

// The first word of a line, up to a space.
std::string_view first_token(std::string_view t) { return t.substr(0, t.find_first_of(" \t")); }

// "12:04", "02:00:01.412", "2025-10-10", "[2025-10-10", "Oct 10 02:00:01".
bool starts_with_timestamp(std::string_view t) {
    if (!t.empty() && t.front() == '[') t.remove_prefix(1);
    std::size_t d = 0;
    while (d < t.size() && is_digit(t[d])) ++d;
    if (d >= 1 && d <= 4 && d < t.size() && (t[d] == ':' || t[d] == '-' || t[d] == '/') && d + 1 < t.size() &&
        is_digit(t[d + 1]))
        return d != 1 || t[d] == ':'; // "3-4 people" is not a time
    static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (auto m : kMonths)
        if (starts_with(t, m) && t.size() > 10 && t[3] == ' ' && t.find(':') != std::string_view::npos &&
            t.find(':') < 16)
            return true;
    return false;
}

// A log level standing as its own word: "02:00 WARN lease: ...".
bool has_log_level(std::string_view t) {
    for (auto lvl : kLogLevels) {
        for (std::size_t p = t.find(lvl); p != std::string_view::npos; p = t.find(lvl, p + 1)) {
            bool before = p == 0 || !is_alnum(t[p - 1]);
            std::size_t e = p + lvl.size();
            bool after = e == t.size() || (!is_alnum(t[e]) && t[e] != '\'');
            if (before && after) return true;
        }
    }
    return false;
}

// "file.c:12:3: error:", "Traceback (most recent call last):",
// "  File \"x.py\", line 3", "at org.foo.Bar(Bar.java:12)", "panic:".
bool program_output(std::string_view t) {
    for (std::string_view p : {"Traceback (", "File \"", "panic:", "error:", "warning:", "fatal:", "Exception in",
                               "Caused by:", "at java.", "at org.", "at com.", "Error:", "npm ERR!", "E: ", "W: "})
        if (starts_with(t, p)) return true;
    auto colon = t.find(':');
    if (colon != std::string_view::npos && colon > 2 && colon + 1 < t.size() && is_digit(t[colon + 1])) {
        std::string_view file = t.substr(0, colon);
        if (file.find(' ') == std::string_view::npos && file.find('.') != std::string_view::npos) return true;
    }
    return false;
}

// Characters that seldom appear in prose but fill code and command lines.
int code_marks(std::string_view t) {
    int marks = 0;
    for (std::string_view m : {"--", " -", "=", "/", "\\", "(", "{", "}", ";", "$", "::", "->", "|", "`", "./",
                               "<", "[", "_", "#"})
        if (t.find(m) != std::string_view::npos) ++marks;
    return marks;
}

bool is_command(std::string_view word) {
    if (starts_with(word, "./") || starts_with(word, "~/") || starts_with(word, "/usr/") || starts_with(word, "/bin/"))
        return true;
    return std::find(std::begin(kCommands), std::end(kCommands), word) != std::end(kCommands);
}

// "x = 1", "self.store = Store()", "options[:name] ||= x": a name, then an
// assignment operator with spaces around it.
bool assignment(std::string_view t) {
    std::size_t i = 0;
    while (i < t.size() && (is_alnum(t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '[' || t[i] == ']' ||
                            t[i] == '\'' || t[i] == '"' || t[i] == ':'))
        ++i;
    if (i == 0 || i == t.size() || t[i] != ' ') return false;
    std::string_view rest = t.substr(i + 1);
    for (std::string_view op : {"= ", "+= ", "-= ", ":= ", "||= ", "|= ", "== "})
        if (starts_with(rest, op)) return true;
    return false;
}

} // namespace

bool markup_or_key_name(std::string_view word) {
    static constexpr std::string_view kNames[] = {
        // HTML elements
        "a", "abbr", "b", "big", "blockquote", "body", "br", "button", "caption", "center", "code", "col",
        "dd", "div", "dl", "dt", "em", "font", "footer", "form", "frame", "h1", "h2", "h3", "h4", "h5", "h6",
        "head", "header", "hr", "html", "i", "iframe", "img", "input", "label", "li", "link", "main", "meta",
        "nav", "ol", "option", "p", "pre", "script", "section", "select", "small", "span", "strong", "style",
        "sub", "sup", "table", "tbody", "td", "textarea", "th", "thead", "title", "tr", "tt", "u", "ul",
        "article", "aside", "canvas", "figure", "svg", "video", "audio", "source", "template", "xml", "doctype",
        "!doctype", "marquee", "noscript", "object", "param", "base", "map", "area", "strike", "s", "del", "ins",
        // keys
        "enter", "return", "tab", "esc", "escape", "ctrl", "control", "alt", "shift", "space", "backspace",
        "delete", "home", "end", "pgup", "pgdn", "pageup", "pagedown", "up", "down", "left", "right", "cmd",
        "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11", "f12", "ins", "super", "meta",
        "option", "fn", "cr", "lf", "eof", "eol", "nul", "crlf", "leader", "cr lf",
    };
    std::string_view w = trim(word);
    // "<td colspan=2>", "<a href=...>": the element name comes first.
    w = w.substr(0, w.find_first_of(" \t"));
    for (auto n : kNames)
        if (iequals(w, n)) return true;
    return false;
}

bool Notation::technical_line(std::string_view line) {
    const bool indented = !line.empty() && (line.front() == '\t' || starts_with(line, "  "));
    std::string_view t = trim(line);
    if (t.empty()) return false;
    if (starts_with(t, "$ ") || starts_with(t, "% ") || starts_with(t, "C:\\") || starts_with(t, "PS C:\\") ||
        starts_with(t, ">>> ") || starts_with(t, "# ") || starts_with(t, "#!") || starts_with(t, "//") ||
        starts_with(t, "/*") || starts_with(t, "<!--") || starts_with(t, "#include") || starts_with(t, "#define"))
        return true;
    if (starts_with(t, "diff --git") || starts_with(t, "--- a/") || starts_with(t, "+++ b/") ||
        starts_with(t, "@@ ") || starts_with(t, "index "))
        return true;
    for (auto u : kUsage)
        if (starts_with(t, u)) return true;
    if (starts_with_timestamp(t) || program_output(t)) return true;
    // "[error] 2214#0: ...", "[WARN] ...": a server log's level first.
    if (t.front() == '[') {
        std::string_view lvl = t.substr(1, t.find(']') == std::string_view::npos ? 0 : t.find(']') - 1);
        for (auto l : kLogLevels)
            if (iequals(lvl, l)) return true;
        for (std::string_view l : {"warn", "crit", "alert", "emerg", "debug", "info", "notice"})
            if (iequals(lvl, l)) return true;
    }
    if (has_log_level(t) && code_marks(t) >= 1) return true;
    if (is_command(first_token(t)) && (code_marks(t) >= 1 || t.find(' ') == std::string_view::npos ||
                                       (t.back() != '.' && std::count(t.begin(), t.end(), ' ') <= 6)))
        return true;
    if (t.front() == '<' && t.back() == '>') {
        std::string_view name = t.substr(1, t.find_first_of(" >/", 1) - 1);
        if (t.find("</") != std::string_view::npos || markup_or_key_name(name)) return true;
    }
    if (assignment(t)) return true;
    // An indented line with code punctuation: a pasted command or snippet.
    // A bullet ("  * item", "  - item") is prose.
    if (indented) {
        std::string_view body = t;
        bool bullet = starts_with(body, "* ") || starts_with(body, "- ") || starts_with(body, "\xE2\x80\xA2 ");
        if (bullet) body.remove_prefix(body.find(' ') + 1);
        if (code_marks(body) >= 1 && (body.find("--") != std::string_view::npos || body.find('=') != std::string_view::npos ||
                                      body.find('/') != std::string_view::npos || body.find('$') != std::string_view::npos ||
                                      body.find('(') != std::string_view::npos || body.find('{') != std::string_view::npos ||
                                      body.find(';') != std::string_view::npos || body.find('|') != std::string_view::npos ||
                                      body.find("::") != std::string_view::npos || body.find("->") != std::string_view::npos ||
                                      body.find('`') != std::string_view::npos || body.find('\\') != std::string_view::npos ||
                                      is_command(first_token(body))))
            return true;
        if (std::count(body.begin(), body.end(), '<') >= 2) return true; // "<head> <title>"
        // "subscribe [your email address]": an indented instruction that
        // starts with a lower-case word and is no sentence.
        if (!bullet && !body.empty() && std::islower(static_cast<unsigned char>(body.front())) && body.back() != '.' && body.back() != '?' &&
            body.back() != '!' && std::count(body.begin(), body.end(), ' ') < 8)
            return true;
    }
    return false;
}

void Notation::classify() {
    classified_ = true;
    bool fence = false, hunk = false;
    for (std::size_t pos = 0; pos <= text_.size();) {
        auto nl = text_.find('\n', pos);
        if (nl == std::string_view::npos) nl = text_.size();
        std::string_view line = text_.substr(pos, nl - pos);
        std::string_view t = trim(line);
        bool tech = false;
        if (starts_with(t, "```") || starts_with(t, "~~~")) {
            fence = !fence;
            tech = true;
        } else if (fence) {
            tech = true;
        } else {
            if (starts_with(t, "@@ ")) hunk = true;
            else if (hunk && !(starts_with(line, " ") || starts_with(line, "+") || starts_with(line, "-") ||
                               starts_with(line, "\\") || line.empty()))
                hunk = false;
            tech = hunk || technical_line(line);
        }
        line_starts_.push_back(pos);
        technical_.push_back(tech);
        pos = nl + 1;
    }
}

bool Notation::line_is_technical(std::size_t offset) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    if (it == line_starts_.begin()) return false;
    return technical_[static_cast<std::size_t>(it - line_starts_.begin()) - 1];
}

bool Notation::covers(std::size_t begin, std::size_t end) {
    if (!classified_) classify();
    if (line_is_technical(begin)) return true;

    std::size_t ls = text_.rfind('\n', begin);
    ls = ls == std::string_view::npos ? 0 : ls + 1;
    std::size_t le = text_.find('\n', end);
    if (le == std::string_view::npos) le = text_.size();
    std::string_view before = text_.substr(ls, begin - ls);
    std::string_view after = text_.substr(end, le - end);

    // Glued to a word or a path: "marram-<version>.tar.gz", "dist/<name>",
    // "wms-<standort>.service", "List<Name>".
    if (!before.empty()) {
        char b = before.back();
        bool dotted = b == '.' && before.size() >= 2 && is_alnum(before[before.size() - 2]); // "name.<ext>", not "...[...]"
        if (is_alnum(b) || b == '-' || b == '/' || dotted || b == '=' || b == '_' || b == '\\' || b == '@')
            return true;
    }
    if (!after.empty()) {
        char a = after.front();
        if (is_alnum(a) || a == '-' || a == '/' || a == '=' || a == '_' || a == '\\' || a == '@' ||
            (a == '.' && after.size() > 1 && is_alnum(after[1])))
            return true;
    }

    // In backquotes: `foo <name>`.
    if (std::count(before.begin(), before.end(), '`') % 2 == 1 && after.find('`') != std::string_view::npos)
        return true;

    // Right after a command-line flag: "--queue <name>", "-o <file>".
    std::string_view lead = trim(before);
    auto sp = lead.find_last_of(" \t");
    std::string_view prev = sp == std::string_view::npos ? lead : lead.substr(sp + 1);
    if (prev.size() >= 2 && prev[0] == '-' && (std::isalpha(static_cast<unsigned char>(prev[1])) || prev[1] == '-'))
        return true;

    // In quotes that hold command syntax: "requeue [--dry-run] <name>".
    for (std::string_view q : {"\"", "'", "\xE2\x80\x9C"}) {
        std::string_view close = q == "\xE2\x80\x9C" ? std::string_view("\xE2\x80\x9D") : q;
        auto open = before.rfind(q);
        if (open == std::string_view::npos) continue;
        if (q != "\xE2\x80\x9C" && std::count(before.begin(), before.end(), q[0]) % 2 == 0) continue;
        auto shut = after.find(close);
        if (shut == std::string_view::npos) continue;
        std::string quoted = std::string(before.substr(open + q.size())) + std::string(after.substr(0, shut));
        if (quoted.find("--") != std::string::npos || quoted.find("[-") != std::string::npos ||
            quoted.find('|') != std::string::npos || quoted.find('=') != std::string::npos ||
            quoted.find('/') != std::string::npos || quoted.find('$') != std::string::npos ||
            quoted.find('[') != std::string::npos || quoted.find('<') != std::string::npos)
            return true;
    }
    return false;
}

} // namespace rapport::policies
