// @ts-check
'use strict';
/**
 * serverless-esbuild zips each function with archiver's default, zlib level 1 (fastest): the
 * minified chunks then take ~10% more than at level 9. After packaging, each function's zip is
 * written again at level 9, entry by entry in the same order, with the same names, modes and the
 * same fixed date (1980-01-01, the zip format's first day), so the same code still gives the same
 * bytes, and the same hash for `serverless deploy`.
 */
const { Buffer } = require('node:buffer');
const { createWriteStream, renameSync, rmSync, statSync } = require('node:fs');
const archiver = require('archiver');
const yauzl = require('yauzl');

const LEVEL = 9;
/** The date serverless-esbuild gives every entry (`new Date(0)`, stored as the format's earliest). */
const FIXED_DATE = new Date(0);

/**
 * Every entry of a zip: its name, its Unix mode and its bytes.
 * @param {string} zipPath
 * @returns {Promise<Array<{ name: string, mode: number | undefined, data: Buffer }>>}
 */
function readEntries(zipPath) {
  return new Promise((done, fail) => {
    yauzl.open(zipPath, { lazyEntries: true, autoClose: true }, (err, zip) => {
      if (err || !zip) return fail(err ?? new Error(`${zipPath}: cannot open`));
      /** @type {Array<{ name: string, mode: number | undefined, data: Buffer }>} */
      const entries = [];
      zip.on('error', fail);
      zip.on('end', () => done(entries));
      zip.on('entry', (entry) => {
        if (entry.fileName.endsWith('/')) return zip.readEntry();
        zip.openReadStream(entry, (streamErr, stream) => {
          if (streamErr || !stream) return fail(streamErr ?? new Error(`${entry.fileName}: cannot read`));
          /** @type {Buffer[]} */
          const chunks = [];
          stream.on('data', (chunk) => chunks.push(chunk));
          stream.on('error', fail);
          stream.on('end', () => {
            const unixMode = entry.externalFileAttributes >>> 16;
            entries.push({
              name: entry.fileName,
              mode: unixMode ? unixMode : undefined,
              data: Buffer.concat(chunks),
            });
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

/**
 * Writes `zipPath` again at zlib level 9, entries in their order; returns [bytes before, after].
 * @param {string} zipPath
 * @returns {Promise<[number, number]>}
 */
async function recompressZip(zipPath) {
  const entries = await readEntries(zipPath);
  const temporary = `${zipPath}.level${LEVEL}`;
  const archive = archiver('zip', { zlib: { level: LEVEL } });
  const output = createWriteStream(temporary);
  const written = new Promise((done, fail) => {
    output.on('close', () => done(undefined));
    output.on('error', fail);
    archive.on('error', fail);
  });
  archive.pipe(output);
  for (const entry of entries) {
    archive.append(entry.data, {
      name: entry.name,
      date: FIXED_DATE,
      ...(entry.mode !== undefined ? { mode: entry.mode } : {}),
    });
  }
  const { size: before } = statSync(zipPath);
  try {
    await archive.finalize();
    await written;
  } catch (err) {
    rmSync(temporary, { force: true });
    throw err;
  }
  renameSync(temporary, zipPath);
  return [before, statSync(zipPath).size];
}

module.exports = { recompressZip, readEntries };
