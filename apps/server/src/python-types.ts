/** The name Python gives the type of a JSON value, for PanDA-compatible type errors. */
export function pythonTypeName(value: unknown): string {
  if (value === null || value === undefined) return 'NoneType';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'string') return 'str';
  if (Array.isArray(value)) return 'list';
  return 'dict';
}

/** PanDA's wording: `Type error: 'value' must be of type str, got int.` */
export function typeErrorMessage(field: string, expected: string, value: unknown): string {
  return `Type error: '${field}' must be of type ${expected}, got ${pythonTypeName(value)}.`;
}
