/** The row and lease token a receipt stands for. */
export interface PostgresReceipt {
  readonly id: string;
  readonly lease: number;
}

/** Encodes a delivery receipt: the row id and the lease token of this claim. */
export function encodeReceipt(id: string, lease: number): string {
  return `${id}.${lease}`;
}

/** Decodes {@link encodeReceipt}; `undefined` for a receipt not made by this adapter. */
export function decodeReceipt(receipt: string): PostgresReceipt | undefined {
  const match = /^(\d+)\.(\d+)$/.exec(receipt);
  return match ? { id: match[1]!, lease: Number(match[2]) } : undefined;
}
