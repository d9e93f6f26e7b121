// TypeBox schemas of the identity routes (../shared/design.md). Response schemas are also the
// allow-list of what leaves: a hash or token field not listed here cannot be serialised.
import { Type } from '@sinclair/typebox';

// Patterns, not formats: the strict TypeBox validator knows no formats unless registered.
export const Uuid = Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' });
export const PhoneInput = Type.String({ minLength: 1, maxLength: 32 });
export const Code = Type.String({ pattern: '^[0-9]{6}$' });
export const PasswordInput = Type.String({ minLength: 1, maxLength: 1024 });
export const Token = Type.String({ minLength: 1, maxLength: 256 });

export const SmsLanguageSchema = Type.Union([Type.Literal('kk'), Type.Literal('ru'), Type.Literal('en')], { title: 'SmsLanguage' });
export const VerificationPurpose = Type.Union([Type.Literal('verification'), Type.Literal('password_reset')]);
export const StartVerificationBody = Type.Object({
  phone: PhoneInput,
  purpose: Type.Optional(VerificationPurpose), // 'verification' (registration) unless a reset
  // The SMS's language, kept with the client at registration; Kazakh (the bank's default) if absent.
  language: Type.Optional(SmsLanguageSchema),
}, { additionalProperties: false });
export const VerificationStarted = Type.Object({ verificationId: Uuid, expiresAt: Type.String({ format: 'date-time' }) });
export const IdParams = Type.Object({ id: Uuid });
export const ConfirmBody = Type.Object({ code: Code }, { additionalProperties: false });
export const VerificationConfirmed = Type.Object({ verificationToken: Type.String(), registered: Type.Boolean() });

export const BirthDate = Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' });
export const RegistrationBody = Type.Object({
  verificationToken: Token,
  name: Type.String({ minLength: 1, maxLength: 100 }),
  birthDate: BirthDate,
  password: PasswordInput,
}, { additionalProperties: false });
export const Registered = Type.Object({ clientId: Uuid });

// The birth date given at registration, asked as well as the SMS code (SP-5, SP-10).
export const PasswordResetBody = Type.Object({ verificationToken: Token, birthDate: BirthDate, newPassword: PasswordInput }, { additionalProperties: false });

export const LoginBody = Type.Object({ phone: PhoneInput, password: PasswordInput }, { additionalProperties: false });
// `token` is absent for the pages' login (X-Session-Transport: cookie): it is then in an HttpOnly cookie only.
export const SessionOpened = Type.Object({ token: Type.Optional(Type.String()), expiresAt: Type.String({ format: 'date-time' }) }, { title: 'Session' });

export const Profile = Type.Object({
  id: Uuid,
  phone: Type.String(),
  name: Type.String(),
  birthDate: Type.String(),
  language: SmsLanguageSchema,
  createdAt: Type.String({ format: 'date-time' }),
}, { title: 'Profile' });
export const ProfileUpdate = Type.Object({ language: SmsLanguageSchema }, { additionalProperties: false });

export const PasswordChangeBody = Type.Object({ currentPassword: PasswordInput, newPassword: PasswordInput }, { additionalProperties: false });
export const PasswordChangeStarted = Type.Object({ passwordChangeId: Uuid, expiresAt: Type.String({ format: 'date-time' }) });
