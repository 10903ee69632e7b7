#include "kube/informer.h"

#include <utility>

namespace dwcp::kube {

Informer::Informer(Client& client, ResourceType type, Clock& clock, ReflectorOptions options, Decoder decoder)
    : type_(type), store_(std::move(decoder)), reflector_(client, std::move(type), store_, clock, std::move(options)) {}

}  // namespace dwcp::kube
