package dev.lmhead.head;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonDeserializationContext;
import com.google.gson.JsonDeserializer;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonPrimitive;
import com.google.gson.JsonSerializationContext;
import com.google.gson.JsonSerializer;
import java.lang.reflect.Type;
import java.util.Locale;

/**
 * The one place a {@link HeadSpec} is written to and read from config.json: {@code {"type": NAME,
 * ...the spec record's fields}}, enums in lower case ({@code "classMode": "freq"}). Reading looks the
 * type up in {@link Heads} and reads the record's own fields, ignoring the others, so config.json files
 * written before typed specs (one object with every head's fields) load unchanged; a field missing from
 * an older file takes Java's default (0, false), and a missing enum or list the spec's default (each
 * spec record replaces null in its constructor). Register it with
 * {@code GsonBuilder.registerTypeHierarchyAdapter(HeadSpec.class, HeadSpecJson.INSTANCE)}.
 */
public final class HeadSpecJson implements JsonSerializer<HeadSpec>, JsonDeserializer<HeadSpec> {
  public static final HeadSpecJson INSTANCE = new HeadSpecJson();

  /** Reads and writes the records themselves; enums as lower-case names. */
  private static final Gson RECORDS = new GsonBuilder()
      .serializeSpecialFloatingPointValues()
      .registerTypeHierarchyAdapter(Enum.class, new EnumJson())
      .create();

  private HeadSpecJson() {}

  @Override
  public JsonElement serialize(HeadSpec spec, Type t, JsonSerializationContext ctx) {
    JsonObject o = new JsonObject();
    o.addProperty("type", spec.type());
    for (var e : RECORDS.toJsonTree(spec).getAsJsonObject().entrySet()) o.add(e.getKey(), e.getValue());
    return o;
  }

  @Override
  public HeadSpec deserialize(JsonElement json, Type t, JsonDeserializationContext ctx) {
    if (!json.isJsonObject()) throw new JsonParseException("'model.head' must be an object");
    JsonObject o = json.getAsJsonObject();
    JsonElement type = o.get("type");
    if (type == null || type.isJsonNull()) throw new JsonParseException("missing field 'model.head.type'");
    String name = type.getAsString();
    if (!Heads.has(name)) throw new JsonParseException("unknown head type '" + name + "' (expected " + Heads.namesText() + ")");
    JsonObject fields = o.deepCopy();
    fields.remove("type");
    return RECORDS.fromJson(fields, Heads.get(name).specClass());
  }

  /** Enum constants as lower-case names. */
  private static final class EnumJson implements JsonSerializer<Enum<?>>, JsonDeserializer<Enum<?>> {
    @Override
    public JsonElement serialize(Enum<?> e, Type t, JsonSerializationContext ctx) {
      return new JsonPrimitive(HeadOptions.name(e));
    }

    @Override
    @SuppressWarnings({"unchecked", "rawtypes"})
    public Enum<?> deserialize(JsonElement json, Type t, JsonDeserializationContext ctx) {
      Class<? extends Enum> c = (Class<? extends Enum>) t;
      String s = json.getAsString();
      for (Enum<?> e : c.getEnumConstants()) if (HeadOptions.name(e).equals(s)) return e;
      throw new JsonParseException("unknown value '" + s + "' (expected " + HeadOptions.names((Class) c) + ")");
    }
  }
}
