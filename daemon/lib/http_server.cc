// http_server.cc - see http_server.h.

#include "daemon/lib/http_server.h"

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <optional>

namespace rapport::daemon {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// One connection: read a request, answer it, repeat while keep-alive.
class HttpServer::Session : public std::enable_shared_from_this<Session> {
public:
    Session(tcp::socket s, HttpApi& api, const HttpLimits& lim, std::shared_ptr<std::atomic<std::size_t>> open)
        : stream_(std::move(s)), api_(api), lim_(lim), open_(std::move(open)) {}
    ~Session() { --*open_; }

    void read() {
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(lim_.max_header));
        parser_->body_limit(lim_.max_body);
        stream_.expires_after(std::chrono::seconds(lim_.request_timeout));
        http::async_read_header(stream_, buf_, *parser_,
                                [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
    }

private:
    // A client that asks first (curl does for bodies over 1 MB) hears
    // "100 Continue" instead of waiting a second; an oversized body was
    // already refused from its Content-Length while parsing the header.
    void on_header(beast::error_code ec) {
        if (ec) return on_read(ec);
        if (!parser_->is_done() && beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
            auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
            http::async_write(stream_, *cont, [self = shared_from_this(), cont](beast::error_code ec, std::size_t) {
                if (ec) return self->close();
                self->read_body();
            });
            return;
        }
        read_body();
    }

    void read_body() {
        if (parser_->is_done()) return on_read({});
        http::async_read(stream_, buf_, *parser_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(beast::error_code ec) {
        if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted)
            return close();
        if (ec == http::error::body_limit)
            return reply(HttpApi::error(413, "too_large", "The request body is too large.", 11), false);
        if (ec == http::error::header_limit)
            return reply(HttpApi::error(431, "header_too_large", "The request header is too large.", 11), false);
        if (ec) {
            if (ec.category() == http::make_error_code(http::error::bad_method).category())
                return reply(HttpApi::error(400, "bad_request", "That is not an HTTP request this server understands.", 11),
                             false);
            return close();
        }
        HttpRequest req = parser_->release();
        reply(api_.handle(req), req.keep_alive());
    }

    void reply(HttpResponse res, bool keep) {
        res.keep_alive(keep);
        res.prepare_payload();
        auto sp = std::make_shared<HttpResponse>(std::move(res));
        stream_.expires_after(std::chrono::seconds(lim_.request_timeout));
        http::async_write(stream_, *sp, [self = shared_from_this(), sp, keep](beast::error_code ec, std::size_t) {
            if (ec || !keep) return self->close();
            self->read();
        });
    }

    void close() {
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        stream_.socket().close(ec);
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buf_;
    std::optional<http::request_parser<http::string_body>> parser_;
    HttpApi& api_;
    const HttpLimits& lim_;
    std::shared_ptr<std::atomic<std::size_t>> open_;
};

HttpServer::HttpServer(const Config& cfg, HttpApi& api, Holds& holds, LogFn log, HttpLimits limits)
    : cfg_(cfg), api_(api), holds_(holds), log_(std::move(log)), limits_(limits) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start(int inherited) {
    beast::error_code ec;
    auto addr = asio::ip::make_address(cfg_.http.host == "localhost" ? "127.0.0.1" : cfg_.http.host, ec);
    if (ec) throw std::runtime_error("http: bad listen address " + cfg_.http.host + " (use a literal IP address)");
    tcp::endpoint ep(addr, cfg_.http.port);
    if (inherited >= 0) { // socket activation: already bound and listening
        acceptor_.assign(ep.protocol(), inherited);
    } else {
        acceptor_.open(ep.protocol());
        acceptor_.set_option(asio::socket_base::reuse_address(true));
        acceptor_.bind(ep, ec);
        if (ec) throw std::runtime_error("http: cannot listen on " + cfg_.http.str() + ": " + ec.message());
        acceptor_.listen(asio::socket_base::max_listen_connections);
    }
    port_ = acceptor_.local_endpoint().port();
    // Expiry is seen within a quarter of its period (tests use seconds).
    limits_.sweep_interval = std::min(limits_.sweep_interval, std::max(1u, cfg_.hold.expire / 4));
    api_.set_port(port_);
    accept();
    holds_.expire_due(static_cast<std::int64_t>(std::time(nullptr)));
    arm_sweep();
    thread_ = std::thread([this] { io_.run(); });
}

void HttpServer::stop() {
    io_.stop();
    if (thread_.joinable()) thread_.join();
}

void HttpServer::accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket s) {
        if (ec == asio::error::operation_aborted) return;
        if (!ec) {
            if (open_->load() >= limits_.max_connections) {
                beast::error_code ignored;
                s.close(ignored); // over the cap: no work for this one
            } else {
                ++*open_;
                std::make_shared<Session>(std::move(s), api_, limits_, open_)->read();
            }
        }
        accept();
    });
}

void HttpServer::arm_sweep() {
    sweep_.expires_after(std::chrono::seconds(limits_.sweep_interval));
    sweep_.async_wait([this](beast::error_code ec) {
        if (ec) return;
        auto now = static_cast<std::int64_t>(std::time(nullptr));
        try {
            holds_.expire_due(now);
        } catch (const std::exception& e) {
            log_(std::string("warning: expiry sweep: ") + e.what());
        }
        api_.sweep(now);
        arm_sweep();
    });
}

} // namespace rapport::daemon
