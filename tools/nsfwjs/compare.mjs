// Run nsfwjs 4.4.0 itself (TF.js, CPU backend) on the pictures tools/nsfwjs/compare.py wrote.
//
//   node tools/nsfwjs/compare.mjs WORK_DIR NODE_DIR [MODEL]
//
// NODE_DIR holds node_modules with nsfwjs@4.4.0 and @tensorflow/tfjs (installed outside the
// repository); WORK_DIR holds index.json ([{name, height, width}]) and NAME.rgb (raw RGB bytes).
// For each picture it writes NAME.input.f32 (the tensor nsfwjs's infer() feeds its network,
// rebuilt with the same TF.js calls) and, in results.json, the five class probabilities of
// nsfwjs's own infer() on the raw pixels and of the network on that tensor.
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const [workDir, nodeDir, modelName = "MobileNetV2"] = process.argv.slice(2);
const require = createRequire(join(resolve(nodeDir), "package.json"));
const tf = require("@tensorflow/tfjs");
const nsfwjs = require("nsfwjs");

await tf.setBackend("cpu");
const model = await nsfwjs.load(modelName);
const size = model.options.size;
const index = JSON.parse(readFileSync(join(workDir, "index.json"), "utf8"));
const results = { backend: tf.getBackend(), tfjs: tf.version.tfjs, size, pictures: {} };
for (const { name, height, width } of index) {
  const bytes = new Uint8Array(readFileSync(join(workDir, `${name}.rgb`)));
  const pixels = tf.tensor3d(Int32Array.from(bytes), [height, width, 3], "int32");
  // nsfwjs's NSFWJS.infer, step by step: toFloat, div(255), resizeBilinear(alignCorners).
  const input = tf.tidy(() => {
    const normalised = pixels.toFloat().div(tf.scalar(255));
    const resized =
      height !== size || width !== size
        ? tf.image.resizeBilinear(normalised, [size, size], true)
        : normalised;
    return resized.reshape([1, size, size, 3]);
  });
  const own = model.infer(pixels);
  const fromInput = model.model.predict(input);
  writeFileSync(join(workDir, `${name}.input.f32`), Buffer.from((await input.data()).buffer));
  results.pictures[name] = {
    infer: Array.from(await own.data()),
    predict: Array.from(await fromInput.data()),
  };
  tf.dispose([pixels, input, own, fromInput]);
}
writeFileSync(join(workDir, "results.json"), JSON.stringify(results, null, 1));
console.log(`nsfwjs ${modelName} on ${index.length} pictures, TF.js ${tf.version.tfjs} (${tf.getBackend()})`);
