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
// beast::tcp_stream's expiry is a deadline for every operation started
// until it is set again, so header_timeout and request_timeout are totals.
class HttpServer::Session : public std::enable_shared_from_this<Session> {
public:
    Session(tcp::socket s, HttpApi& api, const HttpLimits& lim, std::unordered_set<Session*>& registry)
        : stream_(std::move(s)), api_(api), lim_(lim), registry_(registry) {
        registry_.insert(this);
    }
    ~Session() { registry_.erase(this); }

    void read() {
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(lim_.max_header));
        parser_->body_limit(lim_.max_body);
        waiting_since_ = std::chrono::steady_clock::now();
        stream_.expires_after(std::chrono::seconds(std::min(lim_.header_timeout, lim_.request_timeout)));
        http::async_read_header(stream_, buf_, *parser_,
                                [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
    }

    // Since when this connection has been waiting on its client.
    std::chrono::steady_clock::time_point waiting_since() const { return waiting_since_; }
    bool evicted() const { return evicted_; }
    // Makes room for another client: the pending operations end with an error.
    void evict() {
        evicted_ = true;
        close();
    }

private:
    // A client that asks first (curl does for bodies over 1 MB) hears
    // "100 Continue" instead of waiting a second; an oversized body was
    // already refused from its Content-Length while parsing the header.
    void on_header(beast::error_code ec) {
        if (ec) return on_read(ec);
        // The rest of the request has what is left of request_timeout.
        stream_.expires_at(waiting_since_ + std::chrono::seconds(lim_.request_timeout));
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
        if (evicted_ || ec == http::error::end_of_stream || ec == beast::error::timeout ||
            ec == asio::error::operation_aborted)
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
        // The client has request_timeout to take the answer.
        waiting_since_ = std::chrono::steady_clock::now();
        stream_.expires_after(std::chrono::seconds(lim_.request_timeout));
        http::async_write(stream_, *sp, [self = shared_from_this(), sp, keep](beast::error_code ec, std::size_t) {
            if (ec || !keep || self->evicted_) return self->close();
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
    std::unordered_set<Session*>& registry_;
    std::chrono::steady_clock::time_point waiting_since_{};
    bool evicted_ = false;
};

HttpServer::HttpServer(const Config& cfg, HttpApi& api, LogFn log)
    : cfg_(cfg), api_(api), log_(std::move(log)), limits_(cfg.http_limits) {}
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
    api_.set_port(port_);
    accept();
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
            // O(connections) per accept; cheap at the sizes involved.
            Session* oldest = nullptr;
            std::size_t open = 0;
            for (Session* x : sessions_) {
                if (x->evicted()) continue; // closing already
                ++open;
                if (!oldest || x->waiting_since() < oldest->waiting_since()) oldest = x;
            }
            if (open >= limits_.max_connections && oldest) {
                // Full: the connection that has waited longest on its client makes room.
                oldest->evict();
                if (++evicted_ == 1 || evicted_ % 100 == 0)
                    log_("warning: http: " + std::to_string(limits_.max_connections) +
                         " connections open (http.max_connections); closed the one waiting longest on its client (" +
                         std::to_string(evicted_) + " so far)");
            }
            std::make_shared<Session>(std::move(s), api_, limits_, sessions_)->read();
        }
        accept();
    });
}

void HttpServer::arm_sweep() {
    sweep_.expires_after(std::chrono::seconds(limits_.sweep_interval));
    sweep_.async_wait([this](beast::error_code ec) {
        if (ec) return;
        api_.sweep(static_cast<std::int64_t>(std::time(nullptr)));
        arm_sweep();
    });
}

} // namespace rapport::daemon
