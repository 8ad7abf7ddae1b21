# Embeds the web chat UI (web/dist, built by `npm ci && npm run build` in web/)
# into s1core as generated C++ behind s1::server::web_assets(). Without
# web/dist the list is empty and the server answers / with a page saying the
# UI was not built, so the C++ build never depends on npm.
file(GLOB_RECURSE S1_WEB_FILES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/web/dist/*)
set(S1_WEB_ASSETS_CPP ${CMAKE_BINARY_DIR}/generated/web_assets.cpp)
add_custom_command(
  OUTPUT ${S1_WEB_ASSETS_CPP}
  COMMAND ${CMAKE_COMMAND} -DDIST=${PROJECT_SOURCE_DIR}/web/dist -DOUT=${S1_WEB_ASSETS_CPP}
          -P ${PROJECT_SOURCE_DIR}/web/embed_assets.cmake
  DEPENDS ${S1_WEB_FILES} ${PROJECT_SOURCE_DIR}/web/embed_assets.cmake
  COMMENT "Embedding the web UI (web/dist)")
target_sources(s1core PRIVATE ${S1_WEB_ASSETS_CPP})
