import type { NextConfig } from "next";

// Nothing tally-specific: the packages install from tarballs like any registry package.
const config: NextConfig = {};

export default config;
