#!/usr/bin/env python3
"""Adds the `text` column s1's train/sft.py trains on to `s1 data export`
rows: the question as the user turn and the s1 layout as the assistant turn
("<|im_start|>think", the joined trajectories, "<|im_start|>answer", then the
attempt prefixed with "Answer: " unless it has one), rendered by the model's
own chat template, as the s1 repository's data/tokenization.py builds s1K's.

    python3 make_text.py --model MODEL_DIR --data s1k.jsonl --out data_dir
writes data_dir/train.jsonl, which `datasets.load_dataset(data_dir)` reads as
the train split. Needs `transformers` (for the tokenizer's chat template)."""
import argparse
import json
import os

from transformers import AutoTokenizer


def assistant_turn(row):
    attempt = row["attempt"]
    if "Answer:" not in attempt:
        attempt = "Answer: " + attempt
    thinking = "\n".join(row["thinking_trajectories"]).strip()
    return "<|im_start|>think\n" + thinking + "\n<|im_start|>answer\n" + attempt.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="Hugging Face folder (s1 export-hf) or hub id")
    parser.add_argument("--data", required=True, help="JSONL from `s1 data export --format s1k`")
    parser.add_argument("--out", required=True, help="folder for train.jsonl")
    args = parser.parse_args()
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    os.makedirs(args.out, exist_ok=True)
    rows = 0
    with open(args.data, encoding="utf-8") as src, open(os.path.join(args.out, "train.jsonl"), "w",
                                                        encoding="utf-8") as dst:
        for line in src:
            if not line.strip():
                continue
            row = json.loads(line)
            messages = [{"role": "user", "content": row["question"]},
                        {"role": "assistant", "content": assistant_turn(row)}]
            row["text"] = tokenizer.apply_chat_template(messages, tokenize=False)
            dst.write(json.dumps(row, ensure_ascii=False) + "\n")
            rows += 1
    print(f"{args.out}/train.jsonl: {rows} rows")


if __name__ == "__main__":
    main()
