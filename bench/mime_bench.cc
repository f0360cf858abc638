// mime_bench.cc - mime::parse() (full model) against a bare mimetic parse.
//
// Inputs are generated here so the figures do not depend on ../shared:
//   typical: a ~20 KB Gmail-style multipart/alternative mail (QP plain text +
//            QP HTML, 15 header fields, three addresses);
//   bigpdf:  a ~5 MB multipart/mixed mail: a short text part and a base64
//            PDF attachment.
// "Mimetic" = mimetic::MimeEntity built from the same buffer (what parsing
// with mimetic alone costs, before any decoding). Targets: model
// <= 3x mimetic on typical, >= 1 GB/s on bigpdf. Results: BENCHMARKS.md.
//
//   build-mime/mime_bench --benchmark_min_time=1

#include <random>
#include <string>

#include <benchmark/benchmark.h>
#include <mimetic/mimetic.h>

#include "mime/message.h"
#include "qp_lines.h"

namespace {

std::string typical_mail() {
    std::string para =
        "Thanks for chatting to me at the open evening on Thursday. As promised, I'm applying for the Evening "
        "Shift Supervisor post in the Kettering contact centre. I've been a customer service advisor for three "
        "years, handling energy billing queries by phone and webchat, and for the last eight months I've "
        "covered the team leader on late shifts.\n\n";
    std::string plain = "Hi Helen,\n\n";
    while (plain.size() < 8000) plain += para;
    plain += "Best,\nDaniel\n";
    std::string html = "<div dir=\"ltr\"><div>Hi Helen,</div><div><br></div>";
    while (html.size() < 10500)
        html += "<div style=\"font-family:arial,sans-serif\">" + para.substr(0, para.size() - 2) +
                "</div><div><br></div>";
    html += "<div>Best,</div><div>Daniel</div></div>\n";
    std::string m =
        "MIME-Version: 1.0\r\n"
        "Date: Wed, 12 Mar 2025 18:40:11 +0000\r\n"
        "Message-ID: <CAF3k9QxZ=8pL2mN7vR4tYc0wH5sJ1dG6bE9aU2iK3oT4@mail.gmail.com>\r\n"
        "Subject: Evening Shift Supervisor =?UTF-8?Q?=E2=80=93_Pellham_contact_centre?=\r\n"
        "From: Daniel Okoro <dan.okoro92@gmail.com>\r\n"
        "To: Helen Ward <helen.ward@pellham.co.uk>, \"Osei, Kwame\" <k.osei@pellham.co.uk>\r\n"
        "Cc: =?UTF-8?Q?Zo=C3=AB_Smith?= <zoe@example.org>\r\n"
        "X-Mailer: bench\r\nX-Priority: 3\r\nX-Google-Smtp-Source: AGHT+IFx0abcdefghijklmnop\r\n"
        "Received: from mail.example.org (mail.example.org [192.0.2.1])\r\n by mx.example.com with ESMTPS id x1\r\n"
        " for <helen.ward@pellham.co.uk>; Wed, 12 Mar 2025 18:40:12 +0000\r\n"
        "Content-Type: multipart/alternative; boundary=\"000000000000a1b2c1062f9d8e7d\"\r\n\r\n"
        "--000000000000a1b2c1062f9d8e7d\r\n"
        "Content-Type: text/plain; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
        qp_lines(plain) +
        "\r\n--000000000000a1b2c1062f9d8e7d\r\n"
        "Content-Type: text/html; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
        qp_lines(html) + "\r\n--000000000000a1b2c1062f9d8e7d--\r\n";
    return m;
}

std::string big_pdf_mail(std::size_t pdf_bytes) {
    static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::mt19937 rng(42);
    std::string pdf = "%PDF-1.7\n";
    while (pdf.size() < pdf_bytes) pdf += static_cast<char>(rng());
    std::string b64;
    b64.reserve(pdf.size() * 4 / 3 + pdf.size() / 38);
    std::size_t col = 0;
    for (std::size_t i = 0; i + 2 < pdf.size(); i += 3) {
        unsigned v = static_cast<unsigned char>(pdf[i]) << 16 | static_cast<unsigned char>(pdf[i + 1]) << 8 |
                     static_cast<unsigned char>(pdf[i + 2]);
        b64 += a[v >> 18 & 63];
        b64 += a[v >> 12 & 63];
        b64 += a[v >> 6 & 63];
        b64 += a[v & 63];
        if ((col += 4) == 76) { b64 += "\r\n"; col = 0; }
    }
    return "From: Jake Turner <jake.turner@gmail.com>\r\nTo: careers@brightwater.co.uk\r\n"
           "Subject: Warehouse Operative vacancy\r\nDate: Mon, 3 Mar 2025 09:12:40 +0000\r\n"
           "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
           "--b1\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nDear Hiring Manager,\r\n\r\nMy CV is attached.\r\n"
           "--b1\r\nContent-Type: application/pdf; name=\"CV.pdf\"\r\n"
           "Content-Disposition: attachment; filename=\"CV.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
           b64 + "\r\n--b1--\r\n";
}

const std::string& typical() {
    static const std::string m = typical_mail();
    return m;
}
const std::string& bigpdf() {
    static const std::string m = big_pdf_mail(3800 * 1024); // ~5 MB once base64-encoded
    return m;
}

void model(benchmark::State& state, const std::string& mail) {
    for (auto _ : state) {
        auto m = rapport::mime::parse(mail);
        benchmark::DoNotOptimize(m);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * mail.size()));
    state.counters["mail_bytes"] = static_cast<double>(mail.size());
}

void mimetic_only(benchmark::State& state, const std::string& mail) {
    for (auto _ : state) {
        mimetic::MimeEntity me(mail.begin(), mail.end());
        benchmark::DoNotOptimize(me);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * mail.size()));
}

void BM_Model_Typical20K(benchmark::State& s) { model(s, typical()); }
void BM_Mimetic_Typical20K(benchmark::State& s) { mimetic_only(s, typical()); }
void BM_Model_Pdf5M(benchmark::State& s) { model(s, bigpdf()); }
void BM_Mimetic_Pdf5M(benchmark::State& s) { mimetic_only(s, bigpdf()); }

} // namespace

BENCHMARK(BM_Model_Typical20K);
BENCHMARK(BM_Mimetic_Typical20K);
BENCHMARK(BM_Model_Pdf5M)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Mimetic_Pdf5M)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
