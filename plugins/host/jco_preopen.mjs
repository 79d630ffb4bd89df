// Lets jco's own components (wit-parser, bindgen) see the host filesystem: preview2-shim starts
// with no preopens (research/kvwasm.md §3.1). Used as `node --import ./jco_preopen.mjs jco.js ...`.
import { _setPreopens } from "@bytecodealliance/preview2-shim/filesystem";
_setPreopens({ "/": "/" });
