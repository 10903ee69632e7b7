// Mutual-TLS material read from three files (CA, certificate, private key) and read again when
// any of them changes, so a certificate rotated on disk (cert-manager writing a Secret that the
// kubelet projects into the pod, an operator renewing by hand) reaches new connections without a
// restart; connections already open keep the context they started with. Both contexts of a peer
// link, the server's and the client's, come from the same files and are replaced together.
//
// A change is a different modification time, size, inode or device of any of the three paths
// (symbolic links are followed, so the kubelet's atomic `..data` swap counts). When the new files
// do not make a valid context (a certificate written before its key, a key that does not match),
// the old contexts stay, the failure is reported once for those files, and the next change is
// tried again. Nothing read from the files is ever logged.
#pragma once

#include <sys/types.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "net/error.h"
#include "net/http_server.h"

namespace dwcp::net {

struct TlsFilePaths {
  std::string caFile;
  std::string certFile;
  std::string keyFile;
};

class TlsFiles {
 public:
  // Reads the files and builds both contexts; the Error names the file or what is wrong with it.
  static Result<std::unique_ptr<TlsFiles>> load(TlsFilePaths paths);
  ~TlsFiles();  // stops watching
  TlsFiles(const TlsFiles&) = delete;
  TlsFiles& operator=(const TlsFiles&) = delete;

  // For an HttpServer (server()) and for outgoing connections (client()); the same objects for
  // the life of this TlsFiles, their contents replaced on every successful reload.
  std::shared_ptr<TlsContextSource> server() const { return server_; }
  std::shared_ptr<TlsContextSource> client() const { return client_; }

  // Reads the files again when any changed since the last load or attempt: true when the
  // contexts were replaced, false when nothing changed or these files failed before, an Error
  // when they do not make valid contexts (the old ones stay).
  Result<bool> reloadIfChanged();

  // Calls reloadIfChanged() every `interval` on a thread of its own, logging each reload and each
  // failure; a second call changes nothing. stop() (or the destructor) ends it.
  void watch(std::chrono::milliseconds interval);
  void stop();

  uint64_t reloads() const { return reloads_.load(); }    // successful reloads after load()
  uint64_t failures() const { return failures_.load(); }  // reload attempts that failed

 private:
  struct FileStamp {
    bool exists = false;
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    int64_t modifiedNs = 0;
    bool operator==(const FileStamp&) const = default;
  };
  using Stamps = std::array<FileStamp, 3>;

  explicit TlsFiles(TlsFilePaths paths);
  Stamps stamp() const;
  Status build();  // reads the files and replaces both contexts (creating them the first time)

  const TlsFilePaths paths_;
  std::shared_ptr<TlsContextSource> server_;
  std::shared_ptr<TlsContextSource> client_;

  std::mutex mu_;  // one reload at a time; guards tried_
  Stamps tried_{};  // the files as they were at the last load or attempt

  std::mutex watchMu_;
  std::condition_variable watchCv_;
  bool stopping_ = false;
  std::thread watcher_;

  std::atomic<uint64_t> reloads_{0};
  std::atomic<uint64_t> failures_{0};
};

}  // namespace dwcp::net
