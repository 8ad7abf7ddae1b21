#pragma once
// --search-db and --search-url, shared by `s1 serve` and `s1 run`: the search
// tool the model may call while it thinks, over a local index (s1 index) or
// a search service (search/remote.h).
#include <CLI/CLI.hpp>

#include <string>

#include "search/remote.h"

namespace s1::cli {

struct SearchFlags {
  std::string db, url;
  bool given() const { return !db.empty() || !url.empty(); }
};

void add_search_flags(CLI::App& app, SearchFlags& flags);
// The search function the flags name; empty when neither is given.
SearchFunction make_search(const SearchFlags& flags);

}  // namespace s1::cli
