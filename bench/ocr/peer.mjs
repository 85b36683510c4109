// Runs @gutenye/ocr-node over a folder of images with N lanes (concurrent detect calls in one process) and writes
// { ms, perImageMs, results: [{ input, lines: [{ text, score, box }] }] } as JSON: the same shape score.py reads from
// our writeMeta file. Model loading (Ocr.create) is outside the timing, as pipeline creation is for ours.
//   node peer/peer.mjs <folder> <lanes> <out.json>   (install-peer.sh puts a copy beside node_modules)
import fs from 'node:fs'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import Ocr from '@gutenye/ocr-node'

const [folder, lanesArg, outFile] = process.argv.slice(2)
const lanes = Number(lanesArg || 1)
const files = fs.readdirSync(folder).filter(f => f.endsWith('.png')).sort().map(f => path.join(folder, f))
const ocr = await Ocr.create()
await ocr.detect(files[0]) // warm-up, as ours runs its first image in the timed batch but loads sessions lazily: see README
const results = new Array(files.length)
const perImage = new Array(files.length)
let next = 0
const start = performance.now()
await Promise.all(Array.from({ length: lanes }, async () => {
  while (next < files.length) {
    const i = next++
    const t = performance.now()
    const lines = await ocr.detect(files[i])
    perImage[i] = performance.now() - t
    results[i] = { input: files[i], lines: lines.map(l => ({ text: l.text, score: l.mean, box: l.box })) }
  }
}))
const ms = performance.now() - start
fs.writeFileSync(outFile, JSON.stringify({ ms, perImageMs: perImage, results }, null, 1))
console.log(`peer: ${files.length} images, ${lanes} lanes, ${ms.toFixed(0)} ms (${(ms / files.length).toFixed(1)} ms per image)`)
