/** The error catalogue lives with the adapters, the lowest layer that raises these errors. */
export * from '../../adapters/errors.js'
