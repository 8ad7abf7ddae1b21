#include "server/http_transport.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <atomic>
#include <condition_variable>
#include <future>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include "util/error.h"

namespace s1::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = beast::error_code;

// Bytes a connection reads ahead while a handler runs (pipelined requests);
// past this it stops reading until the handler is done.
constexpr size_t kReadAhead = 64 << 10;
// A request body this large leaves big blocks in the handler thread's malloc
// arena; trimming after it returns memory to the idle level.
constexpr size_t kTrimAfterBody = 256 << 10;
// After an error answer the unread rest of the request is drained (for this
// long at most) before closing, so the close does not reset the connection
// and destroy the answer before the client reads it.
constexpr auto kLingerTime = std::chrono::seconds(2);

// The parser's own errors (bad syntax, bad chunk sizes), not a client that
// went away mid-request.
bool is_malformed(error_code ec) {
  return ec && ec.category() == http::make_error_code(http::error::bad_target).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

}  // namespace

class Connection;

struct HttpTransport::Impl {
  TransportLimits limits;
  TransportHooks hooks;
  // Reset first in ~Impl: destroying pending handlers destroys connections,
  // which unregister themselves from the members below.
  std::unique_ptr<net::io_context> ioc = std::make_unique<net::io_context>();
  std::unique_ptr<tcp::acceptor> acceptor = std::make_unique<tcp::acceptor>(*ioc);
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;

  std::mutex mutex;
  std::condition_variable handlers_done;
  std::list<std::weak_ptr<Connection>> connections;
  int running_handlers = 0;
  bool stopping = false;

  Impl(TransportLimits l, TransportHooks h) : limits(std::move(l)), hooks(std::move(h)) {}
  ~Impl() {
    acceptor.reset();
    ioc.reset();
  }
  void accept();
  void accepted(tcp::socket socket);
  bool enter_handler() {
    std::lock_guard lock(mutex);
    if (stopping || running_handlers >= limits.max_handler_threads) return false;
    ++running_handlers;
    return true;
  }
  void exit_handler() {
    std::lock_guard lock(mutex);
    --running_handlers;
    handlers_done.notify_all();
  }
};

// One client connection: reads requests one after another (pipelined ones
// wait in the buffer), answers each, and closes on errors and deadlines. All
// its I/O runs on its strand; a blocking handler's writes are posted there.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(HttpTransport::Impl& server, tcp::socket socket) : server_(server), stream_(std::move(socket)) {}
  ~Connection() {
    std::lock_guard lock(server_.mutex);
    server_.connections.erase(registration_);
  }
  void start(std::list<std::weak_ptr<Connection>>::iterator registration, bool over_capacity) {
    registration_ = registration;
    net::dispatch(stream_.get_executor(), [self = shared_from_this(), over_capacity] {
      if (over_capacity) {
        self->keep_alive_ = false;
        self->respond(self->server_.hooks.error(503, "the server has too many open connections"), true);
      } else {
        self->wait_for_request();
      }
    });
  }
  // From any thread (shutdown): pending operations end with errors.
  void abort() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->gone_ = true;
      error_code ec;
      self->stream_.socket().close(ec);
    });
  }

  // --- a blocking handler's side, on its own thread ---------------------------------
  bool gone() const { return gone_; }
  void send_from_handler(HttpResponse response);
  bool start_stream(const HttpResponse& head);
  bool write_stream(std::string_view data);
  void end_stream();

 private:
  const TransportLimits& limits() const { return server_.limits; }

  void wait_for_request();
  void read_head();
  void on_head(error_code ec);
  void on_body(error_code ec);
  void dispatch();
  void run_blocking();
  void handler_finished();
  void watch_client();
  void after_exchange();

  HttpHeaders headers_for(int status, HttpHeaders headers);
  http::response<http::string_body> message(HttpResponse r);
  void respond(HttpResponse response, bool close_after);
  void fail(int status, const std::string& why) { respond(server_.hooks.error(status, why), true); }
  void close();
  void linger(std::shared_ptr<std::vector<char>> scratch);
  // Runs `start(done)` on the strand and waits for done(ec).
  template <typename Start>
  bool write_and_wait(Start start);

  HttpTransport::Impl& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::list<std::weak_ptr<Connection>>::iterator registration_;
  HttpRequest request_;
  HeadDecision decision_;
  bool keep_alive_ = true;
  bool closed_ = false;
  bool handler_done_ = false, watching_ = false;
  bool stream_chunked_ = false;
  std::atomic<bool> gone_{false};
  std::atomic<bool> close_after_stream_{false};
};

// --- reading ---------------------------------------------------------------------

// Waits for a request's first byte under the idle deadline, then gives the
// whole header the (shorter) header deadline: a client that trickles bytes
// cannot hold the connection past it.
void Connection::wait_for_request() {
  if (closed_ || gone_) return close();
  if (buffer_.size() > 0) return read_head();
  stream_.expires_after(limits().idle_timeout);
  stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](error_code ec, size_t n) {
    if (ec) return self->close();
    self->buffer_.commit(n);
    self->read_head();
  });
}

void Connection::read_head() {
  parser_.emplace();
  parser_->header_limit(uint32_t(limits().max_header_bytes));
  parser_->body_limit(limits().max_body_bytes);
  stream_.expires_after(limits().header_timeout);
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = shared_from_this()](error_code ec, size_t) { self->on_head(ec); });
}

void Connection::on_head(error_code ec) {
  request_ = HttpRequest{};
  if (ec == http::error::header_limit) return fail(431, "the request's headers are too large");
  if (ec == http::error::body_limit) return fail(413, "the request body is over the size limit");
  if (is_malformed(ec)) return fail(400, "malformed HTTP request: " + ec.message());
  if (ec) return close();

  const auto& head = parser_->get();
  request_.method = std::string(head.method_string());
  const std::string_view target = head.target();
  request_.path = std::string(target.substr(0, target.find('?')));
  request_.version = int(head.version());
  int fields = 0;
  for (const auto& field : head) {
    if (++fields > limits().max_header_fields) return fail(431, "the request has too many header fields");
    request_.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  keep_alive_ = head.keep_alive();

  decision_ = server_.hooks.decide(request_);
  if (decision_.refusal) {
    // The unread body would be taken for the next request: close after.
    return respond(std::move(*decision_.refusal), !parser_->is_done());
  }
  if (parser_->is_done()) return on_body({});
  if (beast::iequals(request_.header("Expect"), "100-continue")) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    stream_.expires_after(limits().write_timeout);
    net::async_write(stream_, net::buffer(kContinue), [self = shared_from_this()](error_code ec, size_t) {
      if (ec) return self->close();
      self->stream_.expires_after(self->limits().body_timeout);
      http::async_read(self->stream_, self->buffer_, *self->parser_,
                       [self](error_code ec, size_t) { self->on_body(ec); });
    });
    return;
  }
  stream_.expires_after(limits().body_timeout);
  http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](error_code ec, size_t) { self->on_body(ec); });
}

void Connection::on_body(error_code ec) {
  if (ec == http::error::body_limit) return fail(413, "the request body is over the size limit");
  if (is_malformed(ec)) return fail(400, "malformed request body: " + ec.message());
  if (ec) return close();
  request_.body = std::move(parser_->get().body());
  parser_.reset();
  dispatch();
}

// --- answering -------------------------------------------------------------------

// An inline handler's answer, sent once the handler returns.
class InlineResponder : public Responder {
 public:
  std::optional<HttpResponse> response;
  void send(HttpResponse r) override { response = std::move(r); }
  bool start_stream(const HttpResponse&) override { throw Error("internal: an inline handler cannot stream"); }
  bool write(std::string_view) override { return false; }
  void end_stream() override {}
  bool client_gone() const override { return false; }
};

class BlockingResponder : public Responder {
 public:
  explicit BlockingResponder(std::shared_ptr<Connection> c) : connection_(std::move(c)) {}
  void send(HttpResponse r) override {
    answered = true;
    connection_->send_from_handler(std::move(r));
  }
  bool start_stream(const HttpResponse& head) override {
    answered = streaming = true;
    return connection_->start_stream(head);
  }
  bool write(std::string_view data) override { return connection_->write_stream(data); }
  void end_stream() override {
    if (!streaming) return;
    streaming = false;
    connection_->end_stream();
  }
  bool client_gone() const override { return connection_->gone(); }
  bool answered = false, streaming = false;

 private:
  std::shared_ptr<Connection> connection_;
};

void Connection::dispatch() {
  stream_.expires_never();
  if (!decision_.blocking) {
    InlineResponder responder;
    try {
      decision_.handler(request_, responder);
    } catch (const std::exception& e) {
      responder.response = server_.hooks.error(500, e.what());
    }
    if (!responder.response) responder.response = server_.hooks.error(500, "the handler gave no answer");
    return respond(std::move(*responder.response), false);
  }
  if (!server_.enter_handler()) return respond(server_.hooks.error(503, "the server is busy"), false);
  handler_done_ = false;
  watch_client();
  std::thread([self = shared_from_this()]() mutable {
    HttpTransport::Impl& server = self->server_;
    self->run_blocking();
    self.reset();  // may destroy the connection, which unregisters from the transport: still alive here
    // Last: stop() waits for this count, then the transport may be destroyed.
    server.exit_handler();
  }).detach();
}

void Connection::run_blocking() {
  {
    BlockingResponder responder(shared_from_this());
    try {
      decision_.handler(request_, responder);
    } catch (const std::exception& e) {
      if (!responder.answered) responder.send(server_.hooks.error(500, e.what()));
    }
    if (!responder.answered) responder.send(server_.hooks.error(500, "the handler gave no answer"));
    responder.end_stream();
  }
#if defined(__GLIBC__)
  if (request_.body.size() >= kTrimAfterBody) malloc_trim(0);
#endif
  net::post(stream_.get_executor(), [self = shared_from_this()] { self->handler_finished(); });
}

// While a blocking handler runs, the connection keeps reading: pipelined
// bytes go to the buffer for later, and a close is noticed at once.
void Connection::watch_client() {
  if (closed_ || gone_ || buffer_.size() >= kReadAhead) return;
  watching_ = true;
  stream_.socket().async_read_some(buffer_.prepare(4096), [self = shared_from_this()](error_code ec, size_t n) {
    self->watching_ = false;
    if (ec && ec != net::error::operation_aborted) self->gone_ = true;
    if (!ec) self->buffer_.commit(n);
    if (self->handler_done_) return self->after_exchange();
    if (!ec) self->watch_client();
  });
}

void Connection::handler_finished() {
  handler_done_ = true;
  error_code ignored;
  if (watching_) return void(stream_.socket().cancel(ignored));  // the watch's completion goes on
  after_exchange();
}

void Connection::after_exchange() {
  if (closed_ || gone_ || !keep_alive_ || close_after_stream_) return close();
  wait_for_request();
}

HttpHeaders Connection::headers_for(int status, HttpHeaders headers) {
  if (server_.hooks.before_response) server_.hooks.before_response(request_, status, headers);
  return headers;
}

http::response<http::string_body> Connection::message(HttpResponse r) {
  http::response<http::string_body> m{http::status(unsigned(r.status)), unsigned(request_.version)};
  for (const auto& [name, value] : headers_for(r.status, std::move(r.headers))) m.insert(name, value);
  if (!r.content_type.empty()) m.set(http::field::content_type, r.content_type);
  if (r.close_connection) keep_alive_ = false;
  m.keep_alive(keep_alive_);
  m.body() = std::move(r.body);
  m.prepare_payload();
  if (request_.method == "HEAD") m.body().clear();  // the length stays, the body does not go
  return m;
}

void Connection::respond(HttpResponse response, bool close_after) {
  if (closed_) return;
  if (close_after) keep_alive_ = false;
  auto m = std::make_shared<http::response<http::string_body>>(message(std::move(response)));
  stream_.expires_after(limits().write_timeout);
  http::async_write(stream_, *m, [self = shared_from_this(), m](error_code ec, size_t) {
    self->stream_.expires_never();
    if (ec || !self->keep_alive_) return self->close();
    self->wait_for_request();
  });
}

template <typename Start>
bool Connection::write_and_wait(Start start) {
  // Shared: the completion may still be inside set_value() when get() returns.
  auto written = std::make_shared<std::promise<bool>>();
  auto result = written->get_future();
  net::post(stream_.get_executor(), [this, self = shared_from_this(), &start, written] {
    if (closed_ || gone_) return written->set_value(false);
    stream_.expires_after(limits().write_timeout);
    start([this, written](error_code ec, size_t) {
      stream_.expires_never();
      if (ec) gone_ = true;
      written->set_value(!ec);
    });
  });
  return result.get();
}

void Connection::send_from_handler(HttpResponse response) {
  auto m = std::make_shared<http::response<http::string_body>>(message(std::move(response)));
  write_and_wait([&](auto done) { http::async_write(stream_, *m, done); });
}

bool Connection::start_stream(const HttpResponse& head) {
  auto m = std::make_unique<http::response<http::empty_body>>(http::status(unsigned(head.status)),
                                                              unsigned(request_.version));
  for (const auto& [name, value] : headers_for(head.status, head.headers)) m->insert(name, value);
  m->set(http::field::content_type, head.content_type);
  // HTTP/1.0 has no chunked coding: the body ends when the connection does.
  stream_chunked_ = request_.version >= 11;
  if (stream_chunked_) {
    m->keep_alive(keep_alive_);
    m->chunked(true);
  } else {
    m->keep_alive(false);
    close_after_stream_ = true;
  }
  http::response_serializer<http::empty_body> serializer(*m);
  return write_and_wait([&](auto done) { http::async_write_header(stream_, serializer, done); });
}

bool Connection::write_stream(std::string_view data) {
  if (gone_) return false;
  if (data.empty()) return true;
  if (!stream_chunked_) return write_and_wait([&](auto done) { net::async_write(stream_, net::buffer(data), done); });
  return write_and_wait(
      [&](auto done) { net::async_write(stream_, http::make_chunk(net::buffer(data.data(), data.size())), done); });
}

void Connection::end_stream() {
  if (stream_chunked_ && !gone_)
    write_and_wait([&](auto done) { net::async_write(stream_, http::make_chunk_last(), done); });
}

// Sends FIN, then drains what the client still sends (briefly) before closing.
void Connection::close() {
  if (closed_) return;
  closed_ = true;
  error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec || gone_) return void(stream_.socket().close(ec));
  stream_.expires_after(kLingerTime);
  linger(std::make_shared<std::vector<char>>(16 << 10));
}

void Connection::linger(std::shared_ptr<std::vector<char>> scratch) {
  stream_.async_read_some(net::buffer(*scratch), [self = shared_from_this(), scratch](error_code ec, size_t) {
    if (!ec) return self->linger(scratch);
    error_code ignored;
    self->stream_.socket().close(ignored);
  });
}

// --- listening ---------------------------------------------------------------------

void HttpTransport::Impl::accept() {
  acceptor->async_accept(net::make_strand(*ioc), [this](error_code ec, tcp::socket socket) {
    if (!acceptor->is_open()) return;
    if (!ec) {
      accepted(std::move(socket));
      return accept();
    }
    // Out of descriptors and the like: try again shortly rather than spin.
    auto timer = std::make_shared<net::steady_timer>(*ioc, std::chrono::milliseconds(50));
    timer->async_wait([this, timer](error_code) { accept(); });
  });
}

void HttpTransport::Impl::accepted(tcp::socket socket) {
  error_code ignored;
  // Small responses and SSE events go out at once, not after Nagle's delay.
  socket.set_option(tcp::no_delay(true), ignored);
  auto connection = std::make_shared<Connection>(*this, std::move(socket));
  std::list<std::weak_ptr<Connection>>::iterator registration;
  bool over_capacity = false;
  {
    std::lock_guard lock(mutex);
    over_capacity = int(connections.size()) >= limits.max_connections;
    registration = connections.insert(connections.end(), connection);
  }
  connection->start(registration, over_capacity);
}

HttpTransport::HttpTransport(TransportLimits limits, TransportHooks hooks)
    : impl_(std::make_unique<Impl>(std::move(limits), std::move(hooks))) {}

HttpTransport::~HttpTransport() { stop(); }

int HttpTransport::bind() {
  const TransportLimits& l = impl_->limits;
  error_code ec;
  tcp::endpoint endpoint;
  const auto address = net::ip::make_address(l.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, uint16_t(l.port));
  } else {
    tcp::resolver resolver(*impl_->ioc);
    auto found = resolver.resolve(l.host, std::to_string(l.port), ec);
    if (ec || found.empty()) fail("{}: not an address this machine can listen on ({})", l.host, ec.message());
    endpoint = found.begin()->endpoint();
  }
  tcp::acceptor& acceptor = *impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  // SO_REUSEADDR (restart while old connections linger in TIME_WAIT) but not
  // SO_REUSEPORT: a second server on a busy port must fail, not share it.
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(l.backlog, ec);
  if (ec) fail("{}:{}: cannot listen there ({})", l.host, l.port, ec.message());
  return acceptor.local_endpoint().port();
}

void HttpTransport::run() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping) return;
    impl_->work.emplace(net::make_work_guard(*impl_->ioc));
  }
  net::post(*impl_->ioc, [impl = impl_.get()] { impl->accept(); });
  std::vector<std::thread> more;
  for (int i = 1; i < std::max(1, impl_->limits.io_threads); ++i) more.emplace_back([this] { impl_->ioc->run(); });
  impl_->ioc->run();
  for (auto& t : more) t.join();
}

void HttpTransport::stop_accepting() {
  net::post(*impl_->ioc, [impl = impl_.get()] {
    error_code ignored;
    impl->acceptor->close(ignored);
  });
}

int HttpTransport::busy_handlers() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->running_handlers;
}

void HttpTransport::stop() {
  Impl& s = *impl_;
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard lock(s.mutex);
    if (s.stopping && !s.work) return;
    s.stopping = true;
    for (auto& weak : s.connections)
      if (auto c = weak.lock()) open.push_back(std::move(c));
  }
  net::post(*s.ioc, [&s] {
    error_code ignored;
    s.acceptor->close(ignored);
  });
  for (auto& c : open) c->abort();
  open.clear();
  // Handlers see their clients gone (and the application has cancelled their
  // work): wait for them while the I/O threads still complete their writes.
  {
    std::unique_lock lock(s.mutex);
    s.handlers_done.wait(lock, [&] { return s.running_handlers == 0; });
    s.work.reset();
  }
  s.ioc->stop();
}

}  // namespace s1::server
