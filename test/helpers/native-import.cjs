'use strict';
// Node's own import(), loaded through Node's own require: out of reach of the test runner's module
// transform, so handler loading is tested against the loader users get.
module.exports = (specifier) => import(specifier);
