import type { DevicePrompt } from '@panda-secrets/client';

/** The lines that ask a person to sign in, PanDA's "Please go to URL and sign in" with the code. */
export function devicePromptText(device: DevicePrompt): string {
  const minutes = Math.max(1, Math.round(device.expiresIn / 60));
  const where =
    device.verificationUriComplete === undefined
      ? `Please go to ${device.verificationUri} and sign in with the code ${device.userCode}.`
      : `Please go to ${device.verificationUriComplete} and sign in\n(or go to ${device.verificationUri} and enter the code ${device.userCode}).`;
  return `${where}\nWaiting until the sign-in is completed (the code is valid for ${minutes} minute${minutes === 1 ? '' : 's'})...\n`;
}

/** A QR code of `text` drawn with block characters, for a phone's camera. */
async function qrCode(text: string): Promise<string> {
  const { default: qrcode } = await import('qrcode-terminal');
  return new Promise((resolve) => qrcode.generate(text, { small: true }, resolve));
}

/**
 * Writes the sign-in request to `stream`, with a QR code of the sign-in link when `qr` is set (on
 * a terminal). Returns once written; the QR code is drawn before the waiting starts.
 */
export async function showDevicePrompt(
  stream: NodeJS.WritableStream,
  device: DevicePrompt,
  options: { qr: boolean },
): Promise<void> {
  const link = device.verificationUriComplete ?? device.verificationUri;
  stream.write(`${options.qr ? `${await qrCode(link)}\n` : ''}${devicePromptText(device)}`);
}
