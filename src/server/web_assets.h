#pragma once
// The web chat UI's files (web/dist, built with npm), embedded into the binary
// at build time by web/embed.cmake. Empty when web/dist was not built; the
// server then serves a minimal page saying so.
#include <span>
#include <string_view>

namespace s1::server {

struct WebAsset {
  std::string_view path;  // "/index.html", "/app.js", ...
  std::string_view content_type;
  std::string_view data;
};

std::span<const WebAsset> web_assets();

}  // namespace s1::server
