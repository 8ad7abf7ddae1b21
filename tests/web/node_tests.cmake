# Node tests of the server (web/test/*.test.mjs): the API through OpenAI's
# `openai` npm client, the hostile-client suite, replicas behind nginx, and the
# chat UI in headless Chromium driven by playwright-core. They need `npm ci` in
# web/ (scripts/setup runs it); the UI test also needs the built UI (web/dist,
# embedded into s1) and Debian's chromium.
if(CMAKE_CROSSCOMPILING)
  return()  # node would start a foreign-architecture s1
endif()
find_program(S1_NODE node)
find_program(S1_CHROMIUM chromium)
set(web_dir ${PROJECT_SOURCE_DIR}/web)
if(NOT S1_NODE OR NOT EXISTS ${web_dir}/node_modules/openai)
  message(WARNING "web tests: skipped (no node, or no web/node_modules: run scripts/setup)")
  return()
endif()
add_test(NAME web.api COMMAND ${S1_NODE} --test ${web_dir}/test/api.test.mjs WORKING_DIRECTORY ${web_dir})
set_tests_properties(web.api PROPERTIES TIMEOUT 300 ENVIRONMENT "S1_BINARY=$<TARGET_FILE:s1>")
# Answers in a schema through the openai client and the Vercel AI SDK, validated by ajv.
add_test(NAME web.structured COMMAND ${S1_NODE} --test ${web_dir}/test/structured.test.mjs WORKING_DIRECTORY ${web_dir})
set_tests_properties(web.structured PROPERTIES TIMEOUT 300 ENVIRONMENT "S1_BINARY=$<TARGET_FILE:s1>")
# The server against a hostile client (tests/server/hostile; node built-ins only).
add_test(NAME server.hostile COMMAND ${S1_NODE} --test ${PROJECT_SOURCE_DIR}/tests/server/hostile/hostile.test.mjs
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(server.hostile PROPERTIES TIMEOUT 600 ENVIRONMENT "S1_BINARY=$<TARGET_FILE:s1>")
# Three replicas behind nginx (deploy/nginx, docs/cluster.md): affinity, a replica
# SIGKILLed and another drained mid-load. Skips itself (77) where nginx is missing.
add_test(NAME server.cluster COMMAND ${PROJECT_SOURCE_DIR}/scripts/cluster-test $<TARGET_FILE:s1>
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(server.cluster PROPERTIES TIMEOUT 180 SKIP_RETURN_CODE 77)
if(S1_CHROMIUM AND EXISTS ${web_dir}/dist/index.html AND EXISTS ${web_dir}/node_modules/playwright-core)
  add_test(NAME web.ui COMMAND ${S1_NODE} --test ${web_dir}/test/ui.test.mjs WORKING_DIRECTORY ${web_dir})
  set_tests_properties(web.ui PROPERTIES TIMEOUT 300 ENVIRONMENT
    "S1_BINARY=$<TARGET_FILE:s1>;CHROMIUM=${S1_CHROMIUM};S1_SCREENSHOT=${CMAKE_BINARY_DIR}/web-ui.png")
else()
  message(WARNING "web.ui test: skipped (needs chromium, web/dist and playwright-core)")
endif()
