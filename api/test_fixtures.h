// Test-only: loads the JSON objects in api/testdata/, captured from a real kube-apiserver after
// applying examples/ (defaults filled in) and writing a status. Header-only, not in the library.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

namespace dwcp::api::testing {

inline nlohmann::json loadFixture(const std::string& name) {
  std::ifstream in(std::filesystem::path(DWCP_SOURCE_DIR) / "api" / "testdata" / name);
  if (!in) return nullptr;
  return nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
}

}  // namespace dwcp::api::testing
