#include "net/tls_files.h"

#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include "net/tls.h"

namespace dwcp::net {

TlsFiles::TlsFiles(TlsFilePaths paths) : paths_(std::move(paths)) {}

TlsFiles::~TlsFiles() { stop(); }

Result<std::unique_ptr<TlsFiles>> TlsFiles::load(TlsFilePaths paths) {
  std::unique_ptr<TlsFiles> files(new TlsFiles(std::move(paths)));
  files->tried_ = files->stamp();
  if (Status built = files->build(); !built.ok()) return built.error();
  return files;
}

TlsFiles::Stamps TlsFiles::stamp() const {
  Stamps stamps;
  const std::string* paths[] = {&paths_.caFile, &paths_.certFile, &paths_.keyFile};
  for (size_t i = 0; i < stamps.size(); ++i) {
    struct stat info {};
    if (::stat(paths[i]->c_str(), &info) != 0) continue;  // missing: exists stays false
    stamps[i] = {true, info.st_dev, info.st_ino, info.st_size,
                 static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec};
  }
  return stamps;
}

Status TlsFiles::build() {
  auto material = loadTlsMaterial(paths_.caFile, paths_.certFile, paths_.keyFile);
  if (!material.ok()) return material.error();
  auto server = makeTlsContext(*material, TlsRole::kServer);
  if (!server.ok()) return server.error();
  auto client = makeTlsContext(*material, TlsRole::kClient);
  if (!client.ok()) return client.error();
  if (!server_) {
    server_ = std::make_shared<TlsContextSource>(server.value());
    client_ = std::make_shared<TlsContextSource>(client.value());
  } else {
    server_->replace(server.value());
    client_->replace(client.value());
  }
  return base::Unit{};
}

Result<bool> TlsFiles::reloadIfChanged() {
  std::lock_guard lock(mu_);
  const Stamps now = stamp();
  if (now == tried_) return false;
  tried_ = now;  // these files are tried once; the next change is tried again
  if (Status built = build(); !built.ok()) {
    ++failures_;
    return built.error();
  }
  ++reloads_;
  return true;
}

void TlsFiles::watch(std::chrono::milliseconds interval) {
  std::lock_guard lock(watchMu_);
  if (watcher_.joinable()) return;
  stopping_ = false;
  watcher_ = std::thread([this, interval] {
    std::unique_lock lock(watchMu_);
    while (!watchCv_.wait_for(lock, interval, [this] { return stopping_; })) {
      lock.unlock();
      auto reloaded = reloadIfChanged();
      if (!reloaded.ok()) {
        spdlog::error("TLS files ({}, {}, {}) changed but were not loaded, the previous certificate stays in use: {}",
                      paths_.caFile, paths_.certFile, paths_.keyFile, reloaded.error().message);
      } else if (reloaded.value()) {
        spdlog::info("TLS files ({}, {}, {}) changed: new connections use the new certificate", paths_.caFile,
                     paths_.certFile, paths_.keyFile);
      }
      lock.lock();
    }
  });
}

void TlsFiles::stop() {
  std::thread watcher;
  {
    std::lock_guard lock(watchMu_);
    stopping_ = true;
    watcher = std::move(watcher_);
  }
  watchCv_.notify_all();
  if (watcher.joinable()) watcher.join();
}

}  // namespace dwcp::net
