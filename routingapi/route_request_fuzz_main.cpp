// A plain driver for route_request_fuzz.cpp when libFuzzer is not available (GCC builds, CI):
//   dwcp_route_request_fuzz [--runs N] [--seed S] [CORPUS_DIR_OR_FILE...]
// replays every corpus file, then N random mutations (byte flips, insertions, deletions, JSON
// token splices) of the corpus and of built-in seed bodies. A crash or abort is the failure.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

int run(const std::string& input) {
  return LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}

std::string mutate(std::string s, std::mt19937_64& rng, const std::vector<std::string>& corpus) {
  static const char* kTokens[] = {"{", "}", "[", "]", ",", ":", "\"", "null", "true", "-1", "1e309", "-0",
                                  "\"location\"", "\"latitude\"", "\"longitude\"", "\"requestBytes\"",
                                  "\"trafficClass\"", "\"algorithm\"", "\"maxLatencyMs\"", "\"clientAddress\"",
                                  "\"regionHint\"", "\"\\u0000\"", "\xff", "18446744073709551616", "NaN", "90.0000001"};
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    const std::size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (rng() % 6) {
      case 0:
        if (!s.empty() && pos < s.size()) s[pos] = static_cast<char>(s[pos] ^ (1u << (rng() % 8)));
        break;
      case 1: s.insert(pos, 1, static_cast<char>(rng() % 256)); break;
      case 2:
        if (pos < s.size()) s.erase(pos, 1 + rng() % std::min<std::size_t>(8, s.size() - pos));
        break;
      case 3: s.insert(pos, kTokens[rng() % std::size(kTokens)]); break;
      case 4: {
        const auto& other = corpus[rng() % corpus.size()];
        const std::size_t from = other.empty() ? 0 : rng() % other.size();
        s.insert(pos, other.substr(from, rng() % 32));
        break;
      }
      default:
        if (pos < s.size()) s.resize(pos);
        break;
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  long runs = 20000;
  std::uint64_t seed = 1;
  std::vector<std::string> corpus = {
      R"({"clientAddress":"203.0.113.7","location":{"latitude":48.1,"longitude":11.6},"regionHint":"eu-west-1",)"
      R"("trafficClass":"interactive","requestBytes":2048,"algorithm":"latency","maxLatencyMs":80})",
      R"({"location":{"latitude":-89.9,"longitude":179.99},"algorithm":"geo-proximity"})",
      R"({"clientAddress":"2001:db8::1","trafficClass":"bulk","algorithm":"cost"})",
      R"({"clientAddress":"10.0.0.1","regionHint":"ap-south-1","algorithm":"load-balanced"})",
  };
  std::size_t replayed = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--runs" && i + 1 < argc) {
      runs = std::strtol(argv[++i], nullptr, 10);
    } else if (arg == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::vector<std::filesystem::path> files;
      std::error_code ec;
      if (std::filesystem::is_directory(arg, ec)) {
        for (const auto& entry : std::filesystem::directory_iterator(arg, ec)) {
          if (entry.is_regular_file()) files.push_back(entry.path());
        }
      } else {
        files.emplace_back(arg);
      }
      for (const auto& file : files) {
        std::ifstream in(file, std::ios::binary);
        std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        run(data);
        corpus.push_back(std::move(data));
        ++replayed;
      }
    }
  }
  std::mt19937_64 rng(seed);
  for (const auto& c : corpus) run(c);
  for (long i = 0; i < runs; ++i) {
    std::string input = corpus[rng() % corpus.size()];
    const int depth = 1 + static_cast<int>(rng() % 3);
    for (int d = 0; d < depth; ++d) input = mutate(std::move(input), rng, corpus);
    run(input);
  }
  std::printf("{\"replayed\": %zu, \"mutations\": %ld, \"seed\": %llu, \"crashes\": 0}\n", replayed, runs,
              static_cast<unsigned long long>(seed));
  return 0;
}
